"""kill -9 of the recording process: earlier segments verify, the open one is salvaged."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core import Database
from recordings import SigningKey, salvage_directory, verify_recording
from recordings._fmp4 import complete_length
from recordings._manifest import manifest_from_json
from recordings._models import RecordingRow, RecordingSegmentRow
from recordings._naming import MANIFEST_NAME, PART_SUFFIX

from .conftest import decoded_frames

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def kill_during_recording(data: Path, clips: Path) -> tuple[Path, dict[str, str]]:
    """Start the writer process, let it close two segments, kill -9 it mid-third."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.recordings.crash_writer",
        str(data),
        str(clips),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    directory: Path | None = None
    closed: dict[str, str] = {}
    try:
        async with asyncio.timeout(60):
            while len(closed) < 2:
                line = (await proc.stdout.readline()).decode().split()
                if not line:
                    raise AssertionError("the writer process ended early")
                if line[0] == "DIR":
                    directory = Path(line[1])
                elif line[0] == "SEGMENT":
                    closed[line[1]] = line[2]
        assert directory is not None
        # Into the third segment until its first fragment (one GOP) is complete on disk.
        for _ in range(100):
            parts = [p for p in directory.iterdir() if p.name.endswith(PART_SUFFIX)]
            if parts and complete_length(parts[0].read_bytes()) > 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # and a little into the next, still open fragment
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert directory is not None
    return directory, closed


async def test_kill_9_loses_at_most_the_open_fragment(tmp_path: Path, clip_cache: Path) -> None:
    data = tmp_path / "data"
    directory, closed = await kill_during_recording(data, clip_cache)
    key = await asyncio.to_thread(SigningKey.load_or_create, data)
    parts = [p for p in directory.iterdir() if p.name.endswith(PART_SUFFIX)]
    assert len(parts) == 1, "the open segment is left as a .part file"
    # before salvage: the earlier segments are intact and signed; the .part is reported
    report = await asyncio.to_thread(verify_recording, directory, key.public)
    assert [p.segment for p in report.problems] == [parts[0].name]
    manifest, _, _ = manifest_from_json((directory / MANIFEST_NAME).read_bytes())
    assert {s.name: s.sha256 for s in manifest.segments} == closed
    manifest, salvaged = await asyncio.to_thread(salvage_directory, directory, key)
    assert salvaged == 1
    last = manifest.segments[-1]
    assert last.recovered and last.name == parts[0].name.removesuffix(PART_SUFFIX)
    assert 0.5 <= last.duration <= 2.5
    frames = await asyncio.to_thread(decoded_frames, directory / last.name)
    assert frames >= 12  # at least one whole GOP survived
    assert manifest.stop_reason is not None and manifest.stop_reason.startswith("interrupted")
    report = await asyncio.to_thread(verify_recording, directory, key.public)
    assert report.ok, report.summary()
    assert report.segments == 3


async def _cli(data: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(data),
        "GATEWAY_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


async def test_reindex_after_kill_9_restores_the_index(
    tmp_path: Path, clip_cache: Path, db: Database, database_url: str
) -> None:
    data = tmp_path / "data"
    directory, closed = await kill_during_recording(data, clip_cache)
    rid = directory.name
    done = await _cli(data, database_url, "recordings", "reindex")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 recording(s) indexed" in done.stdout and "salvaged 1 segment" in done.stdout
    async with db.transaction() as session:
        row = await session.get(RecordingRow, rid)
        assert row is not None and row.state == "interrupted"
        segments = (
            await session.scalars(
                select(RecordingSegmentRow)
                .where(RecordingSegmentRow.recording_id == rid)
                .order_by(RecordingSegmentRow.idx)
            )
        ).all()
    assert [s.sha256 for s in segments[:2]] == list(closed.values())
    assert len(segments) == 3 and segments[2].recovered
    checked = await _cli(data, database_url, "recordings", "verify", rid)
    assert checked.returncode == 0 and "intact" in checked.stdout, checked.stdout
    victim = directory / segments[0].name
    data_bytes = bytearray(victim.read_bytes())
    data_bytes[-100] ^= 0x80
    victim.write_bytes(bytes(data_bytes))
    checked = await _cli(data, database_url, "recordings", "verify", str(directory))
    assert checked.returncode == 1 and segments[0].name in checked.stdout, checked.stdout
