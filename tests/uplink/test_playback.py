"""Playback of recorded segments: the pacing clock, MANSRTSP commands, the frames read
from fragmented MP4 (decoded by ffprobe), and a paced playback with seek and pause."""

from __future__ import annotations

import asyncio
import math
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camera_registry import StreamClosedError
from media import MansRtsp, parse_mansrtsp
from uplink._playback import TIMESTAMP_BASE, RecordedPlayback
from uplink._playback_clock import PlaybackClock, PlaybackCommand, interpret
from uplink._recorded import (
    SegmentRef,
    access_unit,
    annexb_from_avcc,
    avcc_parameter_sets,
    read_segment,
)


# --------------------------------------------------------------------------- the clock
def test_clock_pause_resume_scale_seek() -> None:
    clock = PlaybackClock(100.0)
    assert clock.position(101.0) == 1.0
    clock.pause(101.0)
    assert clock.position(150.0) == 1.0 and math.isinf(clock.due_in(2.0, 150.0))
    clock.resume(150.0)
    assert clock.position(151.0) == 2.0
    clock.set_scale(4.0, 151.0)
    assert clock.position(152.0) == 6.0
    assert clock.due_in(10.0, 152.0) == pytest.approx((10.0 - 0.05 - 6.0) / 4)
    clock.seek(30.0, 152.0)
    assert clock.position(152.5) == 32.0
    with pytest.raises(ValueError, match="outside"):
        clock.set_scale(8.0, 153.0)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pause", "resume", "scale", "tick"]),
            st.floats(0.0, 5.0),
            st.sampled_from([0.5, 1.0, 2.0, 4.0]),
        ),
        max_size=30,
    )
)
def test_position_never_goes_back_without_a_seek(steps: list[tuple[str, float, float]]) -> None:
    now = 0.0
    clock = PlaybackClock(now)
    last = clock.position(now)
    for action, dt, scale in steps:
        now += dt
        if action == "pause":
            clock.pause(now)
        elif action == "resume":
            clock.resume(now)
        elif action == "scale":
            clock.set_scale(scale, now)
        position = clock.position(now)
        assert position >= last - 1e-9
        last = position


def test_mansrtsp_commands() -> None:
    play = interpret(parse_mansrtsp(b"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=100-\r\n"), 600)
    assert play == PlaybackCommand(resume=True, seek=100.0)
    assert interpret(parse_mansrtsp(b"PAUSE RTSP/1.0\r\nCSeq: 4\r\nPauseTime: now\r\n"), 60).pause
    speed = interpret(MansRtsp("PLAY", 5, scale=2.0), 60)
    assert speed.scale == 2.0 and speed.resume and speed.seek is None
    assert interpret(MansRtsp("PLAY", 6, range_start=None), 60) == PlaybackCommand(resume=True)
    assert interpret(MansRtsp("TEARDOWN", 7), 60).teardown
    for bad, why in (
        (MansRtsp("PLAY", 1, scale=8.0), "outside 0.5–4"),
        (MansRtsp("PLAY", 1, scale=-1.0), "reverse"),
        (MansRtsp("PLAY", 1, range_start=61.0), "outside the played range"),
    ):
        with pytest.raises(ValueError, match=why):
            interpret(bad, 60)


# --------------------------------------------------------------------- reading segments
def test_avcc_helpers() -> None:
    sps, pps = b"\x67\x42\xe0\x1f\xaa", b"\x68\xce\x3c\x80"
    avcc = bytes([1, 0x42, 0xE0, 0x1F, 0xFF, 0xE1]) + len(sps).to_bytes(2, "big") + sps
    avcc += b"\x01" + len(pps).to_bytes(2, "big") + pps
    assert avcc_parameter_sets(avcc) == (4, [sps, pps])
    idr = b"\x65" + b"\x00\x00\x01" * 3  # a 4-byte length of 0x00000001.. must not fool it
    sample = len(idr).to_bytes(4, "big") + idr
    assert annexb_from_avcc(sample, 4) == [idr]
    data, key = access_unit(sample, 4, [sps, pps])
    assert key and data == b"".join(b"\x00\x00\x00\x01" + u for u in (sps, pps, idr))
    # a truncated length keeps what was whole
    assert annexb_from_avcc(sample + b"\x00\x00\x00\x09\x41", 4) == [idr]
    assert avcc_parameter_sets(b"") == (0, [])


@given(st.binary(max_size=200), st.sampled_from([0, 1, 2, 4]))
def test_any_sample_splits_without_error(data: bytes, length_size: int) -> None:
    units = annexb_from_avcc(data, length_size)
    assert sum(len(u) for u in units) <= len(data)


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A segment as the recorder writes one: fragmented MP4, H.264 (no B-frames), the
    room audio in AAC at 8 kHz, a keyframe every second."""
    path = tmp_path_factory.mktemp("segments") / "000001.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000", "-t", "6",
         "-c:v", "libx264", "-bf", "0", "-g", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-ar", "8000", "-ac", "1", "-metadata:s:a:0", "title=room audio",
         "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_segment_frames_decode_and_audio_is_alaw(segment: Path, tmp_path: Path) -> None:
    frames = list(read_segment(segment))
    video = [f for f in frames if f.frame.kind == "video"]
    audio = [f for f in frames if f.frame.kind == "audio"]
    assert len(video) == 150 and sum(f.frame.keyframe for f in video) == 6
    assert all(f.frame.data.startswith(b"\x00\x00\x00\x01\x67") for f in video if f.frame.keyframe)
    assert {f.frame.codec for f in audio} == {"PCMA"}
    assert sum(len(f.frame.data) for f in audio) == pytest.approx(6 * 8000, rel=0.05)
    raw = tmp_path / "video.h264"
    raw.write_bytes(b"".join(f.frame.data for f in video))
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(raw)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "320,240,150" and out.stderr == ""


# --------------------------------------------------------------------- paced playback
async def test_playback_paces_seeks_pauses_and_ends(segment: Path) -> None:
    t0 = 1_700_000_000.0
    segments = [SegmentRef(segment, t0, t0 + 6.0), SegmentRef(segment, t0 + 6.0, t0 + 12.0)]
    playback = RecordedPlayback(segments, t0 + 2.0, t0 + 11.0, scale=4.0, audio=False)
    started = time.monotonic()
    first = await playback.get()
    # it starts at the keyframe at or before the range (one a second in this segment)
    assert first.keyframe and -1.0 < first.timestamp / 90000 - TIMESTAMP_BASE <= 0.0
    positions = [first.timestamp / 90000 - TIMESTAMP_BASE]
    while positions[-1] < 2.0:
        positions.append((await playback.get()).timestamp / 90000 - TIMESTAMP_BASE)
    # 2 s of media at 4× take about half a second
    assert 0.3 < time.monotonic() - started < 2.0
    playback.control(interpret(MansRtsp("PLAY", 2, range_start=7.5), playback.duration))
    jumped = await playback.get()
    assert jumped.discontinuity and jumped.keyframe
    assert 6.5 < jumped.timestamp / 90000 - TIMESTAMP_BASE <= 7.5
    playback.control(interpret(MansRtsp("PAUSE", 3), playback.duration))
    held = playback.position
    waiting = asyncio.create_task(_drain(playback, 5))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # paused: nothing is due
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert playback.position == held and playback.paused
    playback.control(interpret(MansRtsp("PLAY", 4, scale=4.0), playback.duration))
    rest = 0
    with pytest.raises(StreamClosedError, match="over"):
        while True:
            frame = await playback.get()
            rest += 1
            assert frame.timestamp / 90000 - TIMESTAMP_BASE <= 9.0 + 1e-6
    assert playback.finished and rest > 0
    await playback.close()


async def _drain(playback: RecordedPlayback, count: int) -> None:
    for _ in range(count):
        await playback.get()
