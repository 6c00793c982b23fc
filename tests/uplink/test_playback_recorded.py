"""Playback reads what the recorder really writes: a recording of the simulated camera,
planned by time range, played through RecordedPlayback and decoded by ffmpeg."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core import AuditEntry, Settings
from recordings import RecordingRow
from simulator import SimulatedCamera
from tests.helpers import login
from tests.recordings.service_peers import Rig, rig
from tests.recordings.test_service import record
from uplink._playback import TIMESTAMP_BASE, RecordedPlayback
from uplink._playback_segments import audit_playback, plan_playback

pytestmark = pytest.mark.slow


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


async def test_a_recorded_range_plays_and_decodes(gateway: Rig, tmp_path: Path) -> None:
    csrf = await login(gateway.client, "hpx.mediator")
    rid = await record(gateway, csrf, 7.0)
    async with gateway.db.read() as session:
        row = await session.get(RecordingRow, rid)
    assert row is not None and row.media_start is not None and row.media_end is not None
    start = row.media_start + timedelta(seconds=1.5)
    end = row.media_end - timedelta(seconds=1.0)
    plan = await plan_playback(gateway.db, gateway.service.archive, gateway.camera_id, start, end)
    assert len(plan.segments) >= 2 and plan.recordings == ((rid, "431226203201"),)
    assert all(s.path.is_file() for s in plan.segments)
    playback = RecordedPlayback(plan.segments, start.timestamp(), end.timestamp(), scale=4.0)
    video: list[bytes] = []
    audio = 0
    positions: list[float] = []
    async for frame in playback:
        if frame.kind == "video":
            video.append(frame.data)
            positions.append(frame.timestamp / 90000 - TIMESTAMP_BASE)
        else:
            audio += len(frame.data)
    assert playback.finished
    assert positions[0] <= 0.0 and positions[-1] <= (end - start).total_seconds()
    assert positions == sorted(positions)
    # the simulator's sub stream has 8 kHz G.711 audio: a few seconds of it come back
    assert audio > 8000
    raw = tmp_path / "played.h264"
    await asyncio.to_thread(raw.write_bytes, b"".join(video))
    probe = await asyncio.to_thread(
        subprocess.run,
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=nb_read_frames", "-of", "csv=p=0", str(raw)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(probe.stdout.strip()) == len(video) and probe.stderr == ""
    await audit_playback(
        gateway.db, "platform:县雪亮平台", plan, mode="playback", start=start, end=end, call="abc"
    )
    async with gateway.db.read() as session:
        rows = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play"))
        ).all()
    assert [(r.actor, r.object_id) for r in rows] == [("platform:县雪亮平台", rid)]
