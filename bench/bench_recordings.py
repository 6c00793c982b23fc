"""Recording costs: CPU per recorded camera on top of ingest, bytes written against the
camera bitrate, time to export an hour of one camera, and verify throughput against
``sha256sum`` on the same files.

Run from the repository root::

    .venv/bin/python -m bench.bench_recordings                 # 2 cameras, 20 s, 60 min
    .venv/bin/python -m bench.bench_recordings --cameras 4 --seconds 30 --minutes 10

- CPU: the simulator runs in a child process; this process runs N × CameraIngest with a
  draining subscriber (baseline), then N × CameraIngest + RecordingWriter (60 s segments),
  each for the same window; ``time.process_time()`` covers the writer threads too.
- Export: an hour of the sub stream is generated quickly by looping a captured GOP
  through the real segment writer (60 × 60 s segments); the export builds the viewing
  copy of the whole hour with ffmpeg (the same command as the product) and zips the
  originals, as the product does.
- Verify: ``verify_recording`` on that hour against ``sha256sum`` of the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from camera_registry import CameraIngest
from media import MediaFrame
from recordings import Manifest, RecordingFiles, RecordingWriter, SigningKey, verify_recording
from recordings._export import _zip
from recordings._naming import new_recording_id, recording_dir
from recordings._package import viewing_copy_command
from recordings._writer import _Worker


async def start_simulator(count: int) -> tuple[asyncio.subprocess.Process, list[dict[str, object]]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--cameras",
        str(count),
        "--discovery-port",
        "-1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    text = ""
    while True:
        line = (await proc.stdout.readline()).decode()
        if not line:
            raise RuntimeError("the simulator ended before printing its endpoints")
        text += line
        try:
            return proc, list(json.loads(text)["cameras"])
        except json.JSONDecodeError:
            continue


async def _ingests(cameras: list[dict[str, object]], token: str) -> list[CameraIngest]:
    ingests = []
    for i, cam in enumerate(cameras):
        rtsp = cam["rtsp"]
        assert isinstance(rtsp, dict)
        ingest = CameraIngest(
            str(i), str(rtsp[token]), username=str(cam["username"]), password=str(cam["password"])
        )
        await ingest.start()
        ingests.append(ingest)
    for _ in range(400):
        if all(i.online for i in ingests):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)  # past the first GOP and the clip start-up
    return ingests


async def _drain(ingest: CameraIngest, counter: list[int]) -> None:
    async for frame in ingest.hub.subscribe():
        counter[0] += len(frame.data)


async def cpu_phase(
    cameras: list[dict[str, object]], seconds: float, root: Path, key: SigningKey, record: bool
) -> tuple[float, int, float]:
    """(CPU seconds, bytes received, bytes written) over the window."""
    ingests = await _ingests(cameras, "main")
    counters = [[0] for _ in ingests]
    drains = [asyncio.create_task(_drain(i, c)) for i, c in zip(ingests, counters, strict=True)]
    writers: list[RecordingWriter] = []
    if record:
        for ingest in ingests:
            files = await asyncio.to_thread(_new_files, root, key, ingest.camera_id)
            writer = RecordingWriter(ingest.hub, files, segment_seconds=60.0)
            await writer.start()
            writers.append(writer)
    await asyncio.sleep(1.0)
    for c in counters:
        c[0] = 0
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    received = sum(c[0] for c in counters)
    written = 0.0
    for writer in writers:
        manifest = await writer.stop("benchmark done")
        media = sum(seg.duration for seg in manifest.segments)
        written += manifest.bytes / media * seconds  # bytes per window, from the files

    for task in drains:
        task.cancel()
    for ingest in ingests:
        await ingest.close()
        ingest.hub.close()
    return cpu, received, written


def _new_files(root: Path, key: SigningKey, camera: str) -> RecordingFiles:
    now = datetime.now(UTC)
    rid = new_recording_id(now)
    manifest = Manifest(
        rid, camera, "431226203201", None, now, "system:bench", "bench", "manual", key.key_id
    )
    return RecordingFiles.create(recording_dir(root, rid), manifest, key)


async def capture_gop(camera: dict[str, object], stream: str = "sub") -> list[MediaFrame]:
    """Two seconds of a stream starting at a keyframe (the clip the exported hour loops)."""
    (ingest,) = await _ingests([camera], stream)
    sub = ingest.hub.subscribe()
    frames: list[MediaFrame] = []
    keyframes = 0
    while True:
        frame = await sub.get()
        if frame.kind == "video" and frame.keyframe:
            keyframes += 1
            if keyframes == 3:
                break
        if keyframes >= 1:
            frames.append(frame)
    await ingest.close()
    return frames


def synthesize_hour(frames: list[MediaFrame], minutes: int, root: Path, key: SigningKey) -> Path:
    """Loop the captured frames through the real segment writer: ``minutes`` of media."""
    files = _new_files(root, key, "1")
    worker = _Worker(files, 60.0)
    from recordings._mux import TrackPlan

    worker.run([("plan", TrackPlan("PCMU", True))])
    video = [f for f in frames if f.kind == "video"]
    audio = [f for f in frames if f.kind == "audio"]
    loop_v = video[-1].timestamp - video[0].timestamp + 3600  # one frame at 25 fps
    loop_a = (audio[-1].timestamp - audio[0].timestamp + 160) if audio else 0
    t0 = time.time() - minutes * 60
    span = loop_v / 90000
    loops = int(minutes * 60 / span)
    for n in range(loops):
        batch = []
        for f in frames:
            shift = loop_v * n if f.kind == "video" else loop_a * n
            ts = f.timestamp + shift
            wall = t0 + n * span + (f.arrival - frames[0].arrival)
            batch.append(("frame", dataclasses.replace(f, timestamp=ts), wall, None))
        worker.run(batch)
    worker.run([("finish", datetime.now(UTC), "benchmark hour complete")])
    return files.directory


async def export_hour(directory: Path, out: Path) -> float:
    manifest = RecordingFiles.open(directory, SigningKey.load_or_create(out)).manifest
    clips = [(directory / s.name, 0.0, s.duration) for s in manifest.segments]
    watermark = out / "watermark.txt"
    watermark.write_text("案件 和平溪村2026-0001  导出人 bench  导出时间 2026-11-27", "utf-8")
    started = time.perf_counter()
    args = viewing_copy_command(clips, watermark, out / "viewing.mp4", audio=True)
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode()[-500:])
    members = [(directory / s.name, s.name) for s in manifest.segments]
    await asyncio.to_thread(_zip, out / "package.zip", members, out / "viewing.mp4", {})
    return time.perf_counter() - started


def verify_speed(directory: Path, key: SigningKey) -> tuple[float, float, int]:
    files = sorted(str(p) for p in directory.glob("seg-*.mp4"))
    size = sum(Path(f).stat().st_size for f in files)
    subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    t0 = time.perf_counter()
    report = verify_recording(directory, key.public)
    ours = time.perf_counter() - t0
    assert report.ok, report.summary()
    t0 = time.perf_counter()
    subprocess.run(["sha256sum", *files], stdout=subprocess.DEVNULL, check=True)
    theirs = time.perf_counter() - t0
    return size / ours / 1e6, size / theirs / 1e6, size


async def main_async(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-recordings-"))
    try:
        key = SigningKey.load_or_create(work)
        sim, cameras = await start_simulator(args.cameras)
        try:
            base_cpu, _, _ = await cpu_phase(cameras, args.seconds, work / "a", key, False)
            rec_cpu, received2, written = await cpu_phase(
                cameras, args.seconds, work / "b", key, True
            )
            gop = await capture_gop(cameras[0], args.export_stream)
        finally:
            sim.terminate()
            await sim.wait()
        n, t = args.cameras, args.seconds
        print(f"cameras {n} × 1080p25 main stream, window {t:.0f} s")
        print(f"  ingest only        {100 * base_cpu / t / n:6.2f} % CPU per camera")
        print(f"  ingest + recording {100 * rec_cpu / t / n:6.2f} % CPU per camera")
        print(f"  recording adds     {100 * (rec_cpu - base_cpu) / t / n:6.2f} % CPU per camera")
        rate = received2 * 8 / t / n / 1e6
        print(
            f"  camera bitrate     {rate:6.2f} Mbit/s; written {written * 8 / t / n / 1e6:6.2f} "
            f"Mbit/s of recorded media ({written / max(received2, 1):.3f} × received: "
            "MP4 framing, G.711 → AAC)"
        )
        hour = await asyncio.to_thread(synthesize_hour, gop, args.minutes, work / "hour", key)
        out = work / "export"
        out.mkdir()
        seconds = await export_hour(hour, out)
        print(
            f"export of {args.minutes} min ({args.export_stream} stream): {seconds:.1f} s "
            f"({args.minutes * 60 / seconds:.1f}× real time)"
        )
        ours, theirs, size = await asyncio.to_thread(verify_speed, hour, key)
        print(
            f"verify {size / 1e6:.0f} MB: ours {ours:.0f} MB/s, sha256sum {theirs:.0f} MB/s "
            f"({ours / theirs:.2f}×)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--minutes", type=int, default=60, help="length of the export test")
    parser.add_argument(
        "--export-stream",
        choices=("sub", "main"),
        default="sub",
        help="which stream the exported recording is made of (main = 1080p)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
