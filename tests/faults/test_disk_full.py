"""The disk fills during a continuous recording, then space returns: the recording that hit
the full disk ends with the reason, nothing already written is lost, and the room's policy
starts recording again by itself once there is room."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core import Settings, StorageSettings
from simulator import SimulatedCamera
from tests.helpers import login
from tests.recordings.service_peers import Rig, rig
from web import HOUSEKEEPER

pytestmark = pytest.mark.slow

DISK_MIB = 48


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of a few MiB as the data directory (needs root, as on the CI machine)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
async def gateway(
    aiohttp_client,  # type: ignore[no-untyped-def]
    app_settings: Settings,
    small_disk: Path,
    camera: SimulatedCamera,
) -> AsyncIterator[Rig]:
    settings = replace(app_settings, storage=StorageSettings(data_dir=small_disk))
    async for r in rig(aiohttp_client, settings, camera):
        housekeeper = r.client.app[HOUSEKEEPER]
        housekeeper.settings = replace(housekeeper.settings, policy_interval=1.0)
        yield r


def _fill(path: Path) -> None:
    """Write until the disk refuses (ENOSPC)."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(chunk)
            handle.flush()


async def _recordings(r: Rig) -> list[dict]:  # type: ignore[type-arg]
    response = await r.client.get(f"/api/recordings?camera={r.camera_id}")
    assert response.status == 200
    return list((await response.json())["recordings"])


async def _detail(r: Rig, rid: str) -> dict:  # type: ignore[type-arg]
    return dict(await (await r.client.get(f"/api/recordings/{rid}")).json())


async def test_disk_full_ends_the_recording_with_its_reason_and_recording_resumes(
    gateway: Rig, small_disk: Path
) -> None:
    r = gateway
    csrf = await login(r.client, "hpx.admin")
    policy = await r.client.post(
        f"/api/rooms/{r.room_id}/recording-policy",
        json={"mode": "continuous"},
        headers={"X-CSRF-Token": csrf},
    )
    assert policy.status in (200, 201), await policy.text()
    for _ in range(300):
        recs = await _recordings(r)
        if recs and (await _detail(r, recs[0]["id"]))["segment_count"] >= 2:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the continuous recording did not start")
    first = recs[0]["id"]
    written = [s["sha256"] for s in (await _detail(r, first))["segments"]]

    filler = small_disk / "filler.bin"
    await asyncio.to_thread(_fill, filler)
    for _ in range(600):
        detail = await _detail(r, first)
        if detail["state"] != "recording":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the recording went on with a full disk")
    assert detail["state"] == "interrupted"
    assert "No space left on device" in (detail["stop_reason"] or ""), detail["stop_reason"]
    # What was on disk before the disk filled is kept and still verifies.
    assert [s["sha256"] for s in detail["segments"]][: len(written)] == written

    # While the disk is full nothing new records; once space returns, the policy resumes.
    await asyncio.to_thread(os.remove, filler)
    for _ in range(600):
        recs = await _recordings(r)
        fresh = [x for x in recs if x["id"] != first and x["state"] == "recording"]
        if fresh and (await _detail(r, fresh[0]["id"]))["segment_count"] >= 1:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("recording did not resume when space returned")
    # The interrupted recording: every synced segment verifies; the one being written when
    # the disk filled is named as unfinished (salvage completes it), nothing else is wrong.
    verify = await (await r.client.get(f"/api/recordings/{first}/verify")).json()
    assert verify["segments"] >= len(written), verify
    assert [p["reason"] for p in verify["problems"]] in (
        [],
        ["unfinished segment (salvage with `recordings reindex`)"],
    ), verify
    detail = await _detail(r, first)
    assert detail["state"] == "interrupted"
