"""StreamHub: GOP cache, bounded subscribers, cut-back of slow ones, stats."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from camera_registry import StreamHub
from camera_registry._errors import StreamClosedError
from media import MediaFrame


def _video(i: int, *, gop: int = 10, size: int = 1000) -> MediaFrame:
    key = i % gop == 0
    return MediaFrame(
        "video", "H264", 90000, i * 3600, key, bytes([i % 256]) * size, time.monotonic()
    )


def _audio(i: int) -> MediaFrame:
    return MediaFrame("audio", "PCMU", 8000, i * 160, False, b"\xff" * 160, time.monotonic())


async def test_late_subscriber_starts_at_cached_keyframe() -> None:
    hub = StreamHub("cam1")
    for i in range(15):
        hub.publish(_video(i))
        hub.publish(_audio(i))
    sub = hub.subscribe()
    first = await sub.get()
    assert first.keyframe and first.timestamp == 10 * 3600
    rest = [sub.get_nowait() for _ in range(sub.queued)]
    assert [f.timestamp for f in rest if f and f.kind == "video"] == [
        i * 3600 for i in range(11, 15)
    ]
    assert sum(1 for f in rest if f and f.kind == "audio") == 5  # audio since the keyframe
    audio_only = hub.subscribe(["audio"])
    assert audio_only.queued == 0  # audio subscribers start with what comes next
    hub.publish(_audio(99))
    assert (await audio_only.get()).kind == "audio"


async def test_slow_subscriber_is_cut_back_fast_one_gets_everything() -> None:
    hub = StreamHub("cam1")
    fast = hub.subscribe(max_frames=50)
    slow = hub.subscribe(max_frames=50)
    got_fast: list[int] = []

    async def drain() -> None:
        async for frame in fast:
            got_fast.append(frame.timestamp // 3600)

    reader = asyncio.create_task(drain())
    for i in range(200):
        hub.publish(_video(i, gop=25))
        await asyncio.sleep(0)  # the fast reader keeps up
    await asyncio.sleep(0)
    assert got_fast == list(range(200))
    # The slow one never read: cut back whenever it overflowed, restarting at keyframes.
    assert slow.cutbacks >= 3 and slow.dropped >= 100
    frames = [slow.get_nowait() for _ in range(slow.queued)]
    assert frames[0] is not None and frames[0].keyframe
    assert len(frames) <= 50
    stats = hub.stats()
    assert stats.cutbacks == slow.cutbacks and stats.dropped == slow.dropped
    assert stats.subscribers == 2 and stats.frames == 200 and stats.keyframes == 8
    fast.close()
    await reader
    assert hub.stats().subscribers == 1


async def test_byte_bound_and_memory_stay_bounded() -> None:
    hub = StreamHub("cam1", gop_max_bytes=2 * 1024 * 1024)
    subs = [hub.subscribe(max_frames=10_000, max_bytes=1024 * 1024) for _ in range(5)]
    tracemalloc.start()
    try:
        for i in range(2000):  # ~200 MB published, nobody reads
            hub.publish(_video(i, gop=1000, size=100_000))
            if i == 100:
                base, _ = tracemalloc.get_traced_memory()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # queues ≤ 1 MiB each (5 MiB) + GOP cache ≤ 2 MiB, whatever was published
    assert current - base < 8 * 1024 * 1024
    assert all(s.cutbacks > 0 for s in subs)
    assert hub.stats().gop_bytes <= 2 * 1024 * 1024


async def test_close_ends_iteration_and_get_raises() -> None:
    hub = StreamHub("cam1")
    sub = hub.subscribe()
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    hub.close()
    with pytest.raises(StreamClosedError):
        await waiter
    with pytest.raises(StreamClosedError):
        hub.subscribe()
    assert [f async for f in sub] == []
    hub.close()  # idempotent


async def test_stats_fps_and_bitrate() -> None:
    hub = StreamHub("cam1")
    start = time.monotonic() - 6.0  # six seconds of 25 fps, 1000-byte frames, just arrived
    for i in range(150):
        hub.publish(
            MediaFrame("video", "H264", 90000, i * 3600, i % 50 == 0, b"x" * 1000, start + i * 0.04)
        )
    stats = hub.stats()
    assert stats.window == 5.0
    assert stats.fps == pytest.approx(25.0, rel=0.05)
    assert stats.bitrate == pytest.approx(25 * 8000, rel=0.05)
    assert (stats.frames, stats.keyframes, stats.bytes) == (150, 3, 150_000)
    assert stats.gop_frames == 50
    with pytest.raises(ValueError, match="kinds"):
        hub.subscribe(["subtitles"])
