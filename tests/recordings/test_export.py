"""Evidence export: the package verifies, tampering is caught, the viewing copy decodes and
carries the burned-in watermark; export is scoped and audited."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from core import Settings
from recordings import verify_package
from simulator import SimulatedCamera
from tests.helpers import login

from .conftest import decoded_frames, ffprobe_streams
from .service_peers import Rig, rig
from .test_service import audit_count, new_case, record

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def gateway(
    aiohttp_client,
    app_settings: Settings,
    camera: SimulatedCamera,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Rig]:
    async for r in rig(aiohttp_client, app_settings, camera):
        yield r


def first_frame(path: Path, at: float = 0.0) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at:
                return frame.to_ndarray(format="gray").astype(np.int16)
    raise AssertionError(f"no frame at {at} s in {path}")


async def test_export_package_verifies_with_watermark(
    gateway: Rig, tmp_path: Path, no_blocking: None
) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    rid = await record(r, csrf, 5.0)
    case_id = await new_case(r, csrf)
    detail = await (await r.client.get(f"/api/recordings/{rid}")).json()
    segments = detail["segments"]
    start = datetime.fromisoformat(segments[0]["start"]) + timedelta(seconds=1)
    end = datetime.fromisoformat(segments[1]["end"]) - timedelta(seconds=0.5)
    body = {
        "reason": "法院调取",
        "ranges": [{"recording_id": rid, "start": start.isoformat(), "end": end.isoformat()}],
    }
    # a reason is required
    response = await r.client.post(
        f"/api/cases/{case_id}/exports",
        json={**body, "reason": " "},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 400
    response = await r.client.post(
        f"/api/cases/{case_id}/exports", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 202, await response.text()
    export_id = (await response.json())["id"]
    seen: list[float] = []
    for _ in range(600):
        status = await (await r.client.get(f"/api/exports/{export_id}")).json()
        seen.append(status["progress"])
        if status["state"] != "building":
            break
        await asyncio.sleep(0.1)
    assert status["state"] == "done", status
    assert seen == sorted(seen) and seen[-1] == 1.0
    response = await r.client.get(status["download"])
    assert response.status == 200
    package = tmp_path / "evidence.zip"
    package.write_bytes(await response.read())
    assert await audit_count(r, "recording.export", str(case_id)) == 1
    assert await audit_count(r, "recording.export.download", str(case_id)) == 1
    report = await asyncio.to_thread(verify_package, package, r.service.signing_key().key_id)
    assert report.ok, report.summary()
    assert report.segments == 2
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "evidence", "verify", str(package)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0 and "intact" in cli.stdout, cli.stdout + cli.stderr
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
        assert {
            "README.txt",
            "export.json",
            "public-key.pem",
            "SHA256SUMS",
            "viewing-copy.mp4",
            f"recordings/{rid}/manifest.json",
        } <= set(names)
        # originals are byte for byte the recorded files
        original = (
            r.service.archive.root / (await r.service.get_row(rid)).path / segments[0]["name"]
        )
        assert zf.read(f"recordings/{rid}/{segments[0]['name']}") == original.read_bytes()
        viewing = tmp_path / "viewing.mp4"
        viewing.write_bytes(zf.read("viewing-copy.mp4"))
        assert "python -m gateway evidence verify" in zf.read("README.txt").decode()
    streams = ffprobe_streams(viewing)
    assert [s["codec_name"] for s in streams] == ["h264", "aac"]
    frames = await asyncio.to_thread(decoded_frames, viewing)
    wanted = (end - start).total_seconds() * 25
    assert abs(frames - wanted) <= 6, (frames, wanted)
    # the watermark: the top-left band differs from the original picture, the rest not
    copy = first_frame(viewing, 0.2)
    source = first_frame(original, 1.2)
    h, w = copy.shape
    band = np.abs(copy[: h // 12, : w // 2] - source[: h // 12, : w // 2]).mean()
    rest = np.abs(copy[h // 2 :, :] - source[h // 2 :, :]).mean()
    assert band > 25 and rest < 12, (band, rest)
    # ... and the text ends inside the picture: the top band's right edge is untouched
    edge = np.abs(copy[: h // 8, -w // 40 :] - source[: h // 8, -w // 40 :]).mean()
    assert edge < 12, edge
    # a tampered original in the package is named
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith(segments[1]["name"]):
                data = data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]
            dst.writestr(item, data)
    report = await asyncio.to_thread(verify_package, tampered)
    assert not report.ok
    assert any(segments[1]["name"] in p for p in report.problems), report.problems


async def test_export_scope(gateway: Rig) -> None:
    r = gateway
    csrf = await login(r.client, "hpxc.mediator")
    rid = await record(r, csrf, 2.5)
    case_id = await new_case(r, csrf)
    r.client.session.cookie_jar.clear()
    csrf = await login(r.client, "nmq.watch")  # another village, and an operator
    response = await r.client.post(
        f"/api/cases/{case_id}/exports",
        json={
            "reason": "x",
            "ranges": [
                {
                    "recording_id": rid,
                    "start": "2026-01-01T00:00:00Z",
                    "end": "2036-01-01T00:00:00Z",
                }
            ],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 404  # out of scope answers like a case that does not exist
    assert (await response.json())["error"] == "case_not_found"


def test_the_watermark_fits_every_picture_size() -> None:
    from recordings._package import _ems, watermark_font_size

    text = (
        "案件 431226203201-2026-000001  导出人 hpxc.mediator\n导出时间 2026-12-01 14:00:00 北京时间"
    )
    for width, height in ((320, 180), (640, 360), (1280, 720), (1920, 1080), (704, 576)):
        size = watermark_font_size(text, width, height)
        widest = max(_ems(line) for line in text.splitlines())
        assert widest * size <= width - 36 or size == 8, (width, size)
        assert size <= height / 20
    assert watermark_font_size(text, 1920, 1080) >= 40  # large pictures keep large text
