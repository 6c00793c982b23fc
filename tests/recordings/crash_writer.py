"""Run a recording in its own process so a test can kill -9 it.

Usage: python -m tests.recordings.crash_writer DATA_DIR CLIP_CACHE
Prints ``DIR <path>`` once recording, then ``SEGMENT <name> <sha256>`` per closed segment.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from camera_registry import CameraIngest
from recordings import RecordingWriter, SigningKey, WriterEvent
from simulator import ClipLibrary, SimulatedCamera, default_camera_config

from .conftest import new_files


async def main(data: Path, clips: Path) -> None:
    camera = SimulatedCamera(default_camera_config(0), clips=ClipLibrary(clips))
    await camera.start()
    ingest = CameraIngest(
        "7",
        camera.rtsp_url("sub"),
        username=camera.config.username,
        password=camera.config.password,
    )
    await ingest.start()
    key = SigningKey.load_or_create(data)
    files = new_files(data / "recordings", key)

    def report(event: WriterEvent) -> None:
        if event.segment is not None:
            print("SEGMENT", event.segment.name, event.segment.sha256, flush=True)

    writer = RecordingWriter(ingest.hub, files, segment_seconds=2.0, on_event=report)
    await writer.start()
    print("DIR", files.directory, flush=True)
    await asyncio.sleep(3600)  # until killed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
