"""The writer against a simulated camera: decodable segments, verification, gaps, talk."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from camera_registry import CameraIngest
from recordings import RecordingWriter, SigningKey, WriterEvent, verify_recording
from recordings._naming import MANIFEST_NAME
from simulator import SimulatedCamera

from .conftest import decoded_frames, ffprobe_streams, new_files, until

pytestmark = pytest.mark.slow


async def _record(
    ingest: CameraIngest, root: Path, key: SigningKey, seconds: float, **kw: object
) -> tuple[RecordingWriter, list[WriterEvent]]:
    events: list[WriterEvent] = []
    files = await asyncio.to_thread(new_files, root, key)
    writer = RecordingWriter(
        ingest.hub,
        files,
        segment_seconds=2.0,
        state=lambda: ingest.state,
        on_event=events.append,
        **kw,  # type: ignore[arg-type]
    )
    await writer.start()
    await asyncio.sleep(seconds)
    return writer, events


async def test_segments_decode_and_verify(
    ingest: CameraIngest, tmp_path: Path, key: SigningKey, no_blocking: None
) -> None:
    writer, events = await _record(ingest, tmp_path / "rec", key, 3.0)
    writer.set_talker("和平溪乡调解员")
    for _ in range(40):  # 0.8 s of talk-back through the camera's backchannel
        ingest.send_talk(b"\x55" * 160)
        await asyncio.sleep(0.02)
    await asyncio.sleep(2.5)
    manifest = await writer.stop("test finished")
    assert manifest.stop_reason == "test finished" and manifest.stopped_at is not None
    assert len(manifest.segments) >= 2
    assert [e.kind for e in events].count("segment") == len(manifest.segments)
    assert events[-1].kind == "stopped"
    directory = writer._worker.files.directory
    for segment in manifest.segments:
        path = directory / segment.name
        streams = ffprobe_streams(path)
        codecs = [s["codec_name"] for s in streams]
        assert codecs == ["h264", "aac", "aac"], codecs  # video, room audio, talk-back
        assert streams[0]["width"] == 640 and streams[0]["height"] == 360
        frames = await asyncio.to_thread(decoded_frames, path)
        assert abs(frames - 25 * segment.duration) <= 3, (frames, segment.duration)
        if segment is not manifest.segments[-1]:  # the last one ends at the stop
            assert 1.9 <= segment.duration <= 3.1
    talkers = {t for s in manifest.segments for t in s.talkers}
    assert talkers == {"和平溪乡调解员"}
    assert [span.talker for span in manifest.talk] == ["和平溪乡调解员"]
    assert 0.5 <= (manifest.talk[0].end - manifest.talk[0].start).total_seconds() <= 1.5
    report = await asyncio.to_thread(verify_recording, directory, key.public)
    assert report.ok, report.summary()
    assert report.segments == len(manifest.segments)


async def test_one_flipped_byte_is_named(
    ingest: CameraIngest, tmp_path: Path, key: SigningKey
) -> None:
    writer, _ = await _record(ingest, tmp_path / "rec", key, 4.5)
    manifest = await writer.stop("done")
    directory = writer._worker.files.directory
    victim = directory / manifest.segments[1].name
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    report = await asyncio.to_thread(verify_recording, directory, key.public)
    assert not report.ok
    assert report.first_bad_segment == victim.name
    assert "altered" in report.summary() and victim.name in report.summary()
    # an edited manifest (say, the hash made to match) breaks the signature
    victim.write_bytes(
        bytes(data[: len(data) // 2])
        + bytes([data[len(data) // 2] ^ 1])
        + bytes(data[len(data) // 2 + 1 :])
    )
    assert (await asyncio.to_thread(verify_recording, directory, key.public)).ok
    text = (directory / MANIFEST_NAME).read_text()
    (directory / MANIFEST_NAME).write_text(text.replace('"test"', '"edited"', 1))
    report = await asyncio.to_thread(verify_recording, directory, key.public)
    assert [p.reason for p in report.problems] == [
        "signature does not match: the manifest was altered"
    ]
    # a key that is not the gateway's is refused
    other = await asyncio.to_thread(SigningKey.load_or_create, tmp_path / "other")
    assert (
        "not by this key"
        in (await asyncio.to_thread(verify_recording, directory, other.public)).summary()
    )


async def test_camera_outage_becomes_a_gap_with_reason(
    camera: SimulatedCamera, ingest: CameraIngest, tmp_path: Path, key: SigningKey
) -> None:
    writer, events = await _record(ingest, tmp_path / "rec", key, 2.5, gap_after=1.0)
    camera.apply_faults({"reboot": 3})
    await until(lambda: not ingest.online, 10)
    await until(lambda: ingest.online, 20)
    await asyncio.sleep(3.0)
    manifest = await writer.stop("done")
    assert len(manifest.gaps) == 1, manifest.gaps
    gap = manifest.gaps[0]
    assert gap.reason.startswith("camera offline") or "camera" in gap.reason, gap.reason
    assert 2.0 <= (gap.end - gap.start).total_seconds() <= 15
    assert any(e.kind == "gap" for e in events)
    # segment ends come from the RTP clock, gap edges from arrival times: allow a frame or so
    slack = timedelta(seconds=0.2)
    before = [s for s in manifest.segments if s.end <= gap.start + slack]
    after = [s for s in manifest.segments if s.start >= gap.end - slack]
    assert before and after, (gap, [(s.start, s.end) for s in manifest.segments])
    report = await asyncio.to_thread(verify_recording, writer._worker.files.directory, key.public)
    assert report.ok, report.summary()


async def test_slow_disk_is_backpressure_and_a_gap_never_silent(
    ingest: CameraIngest, tmp_path: Path, key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recordings import _mux

    real_write = _mux.SegmentMuxer.write

    def slow_write(self: _mux.SegmentMuxer, *args: object, **kw: object) -> None:
        time.sleep(0.03)  # a disk that manages about a third of the frame rate
        real_write(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_mux.SegmentMuxer, "write", slow_write)
    writer, events = await _record(
        ingest, tmp_path / "rec", key, 6.0, max_inflight=4, batch_frames=4, queue_frames=60
    )
    manifest = await writer.stop("done")
    assert writer.stats.backpressure >= 1
    assert any(e.kind == "backpressure" for e in events)
    assert writer.stats.frames_lost > 0
    lost = [g for g in manifest.gaps if g.reason.startswith("recorder fell behind")]
    assert lost, manifest.gaps
    assert sum(int(g.reason.split(": ")[1].split()[0]) for g in lost) == writer.stats.frames_lost
    report = await asyncio.to_thread(verify_recording, writer._worker.files.directory, key.public)
    assert report.ok, report.summary()
