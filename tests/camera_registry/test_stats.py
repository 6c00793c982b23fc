"""Statistics that tell the truth: a known stream in, every figure checked — in the
camera state (what the API serves) and in the Prometheus metrics."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from camera_registry import CameraCollector, CameraManager, CameraSpec
from camera_registry._stats import LATE_AFTER, LateFrames, RateMeter
from media import parse_rtp, split_annexb
from tests.media.h264_streams import encode_clip, rtp_stream

from .scripted_rtsp_server import ScriptedRtspServer


def test_rate_meter_counts_what_arrived_in_the_window() -> None:
    meter = RateMeter(window=5.0, buckets=10)
    for i in range(250):  # 25 fps of 10 kB frames for 10 s, plus audio every 20 ms
        meter.add(100.0 + i * 0.04, 10_000, True)
        meter.add(100.0 + i * 0.04, 160, False)
        meter.add(100.0 + i * 0.04 + 0.02, 160, False)
    fps, bitrate = meter.rates(110.0)
    assert fps == pytest.approx(25.0, rel=0.03)
    assert bitrate == pytest.approx(25 * (10_000 + 320) * 8, rel=0.03)
    # bursts do not fool it: 10 frames at one instant, each second
    burst = RateMeter(window=5.0)
    for second in range(10):
        for _ in range(10):
            burst.add(200.0 + second, 1000, True)
    assert burst.rates(209.999)[0] == pytest.approx(10.0, rel=0.11)
    # and silence is zero, not the last rate
    assert burst.rates(300.0) == (0.0, 0.0)


def test_late_frames_against_the_cameras_own_timing() -> None:
    late = LateFrames()
    arrivals = [i * 0.04 for i in range(50)]
    for i, t in enumerate(arrivals):
        assert not late.frame(t, i * 3600, 90_000)
    # a 0.6 s stall: every frame after it arrives 0.6 s behind its timestamp
    for i in range(50, 60):
        assert late.frame(i * 0.04 + 0.6, i * 3600, 90_000)
    assert late.late == 10
    # jitter below the threshold is not lateness
    late2 = LateFrames()
    for i in range(100):
        assert not late2.frame(i * 0.04 + (LATE_AFTER * 0.8 if i % 7 == 0 else 0), i * 3600, 90_000)


@pytest.fixture(scope="module")
def known_stream() -> tuple[list[bytes], bytes, bytes, int]:
    """100 access units (IDR every 10), noisy pictures, one packet removed from the
    middle of access unit 42: the index of that packet is returned too."""
    aus = [split_annexb(au) for au in encode_clip(100, 160, 120, noise=True)]
    sps = next(n for au in aus for n in au if n[0] & 0x1F == 7)
    pps = next(n for au in aus for n in au if n[0] & 0x1F == 8)
    packets = rtp_stream(aus, mtu=1200, seed=11)
    starts = [0, *[i + 1 for i, p in enumerate(packets) if parse_rtp(p).marker][:-1]]
    first, after = starts[42], starts[43]
    assert after - first >= 3, "access unit 42 must span several packets"
    return packets, sps, pps, first + 1


async def test_a_known_stream_gives_every_figure(
    known_stream: tuple[list[bytes], bytes, bytes, int],
) -> None:
    packets, sps, pps, removed = known_stream
    sent = packets[:removed] + packets[removed + 1 :]
    server = ScriptedRtspServer(
        sent, sps=sps, pps=pps, frame_interval=0.04, pauses={75: 1.0}
    )  # 25 fps in real time; a 1 s stall before access unit 75
    await server.start()
    manager = CameraManager(health_interval=None)
    await manager.start()
    try:
        await manager.add(CameraSpec(camera_id=7, name="known", unit_code="431226203201",
                                     rtsp_url=server.url, backchannel=False))  # fmt: skip
        sub = manager.hub(7).subscribe(("video",))
        frames = []
        async with asyncio.timeout(30):
            while len(frames) < 92:
                frames.append(await sub.get())
        await asyncio.sleep(0.3)
        now = time.monotonic()
        state = manager.state(7)
        stats, ingest = state.stats, state.ingest

        # what reached the hub
        assert stats.frames == 92  # 100 − AU 42 (damaged) − AU 43…49 (nothing to decode from)
        assert stats.keyframes == 10  # IDRs 0, 10, … 90 all arrived
        assert stats.audio_frames == 0
        assert stats.bytes == sum(len(f.data) for f in frames)
        assert stats.late_frames == 25  # AU 75…99 come 1 s behind the camera's timing
        # rates: what arrived in the window (whole 0.5 s buckets) over the window's length
        width = stats.window / 10
        start = (int(now / width) - 9) * width
        recent = [f for f in frames if f.arrival >= start]
        assert stats.fps == pytest.approx(len(recent) / (now - start), rel=0.05)
        assert stats.bitrate == pytest.approx(
            sum(len(f.data) for f in recent) * 8 / (now - start), rel=0.05
        )
        # what the RTSP session saw
        assert ingest.packets == len(sent)
        assert ingest.packets_lost == 1
        assert ingest.gaps == 1
        assert ingest.broken_frames == 8  # AU 42 and the seven P-frames after it
        assert ingest.reconnects == 0 and ingest.sessions == 1
        assert ingest.last_gap is not None and ingest.last_gap.packets == 1
        assert "1 RTP packet missing from the video stream" in ingest.last_gap.reason

        # the same figures in /metrics
        registry = CollectorRegistry()
        registry.register(CameraCollector(manager))
        text = generate_latest(registry).decode()

        def metric(name: str) -> float:
            prefix = f'gateway_camera_{name}{{camera="7"}} '
            line = next(line for line in text.splitlines() if line.startswith(prefix))
            return float(line.removeprefix(prefix))

        assert metric("frames_total") == 92
        assert metric("late_frames_total") == 25
        assert metric("packets_total") == len(sent)
        assert metric("packets_lost_total") == 1
        assert metric("gaps_total") == 1
        assert metric("broken_frames_total") == 8
        assert metric("reconnects_total") == 0
        assert metric("bytes_total") == stats.bytes
    finally:
        await manager.close()
        await server.close()
