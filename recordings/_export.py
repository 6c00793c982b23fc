"""Evidence export: build the package in the background, report progress, audit it.

Originals are read, never written: segments go into the zip straight from the recording
directory.  The viewing copy is the one re-encoded file; ffmpeg runs as an asyncio
subprocess (``-progress pipe:1`` feeds the progress bar), and hashing and zipping run in a
thread, so the event loop never waits on any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import Database, Permission, Principal, authorize, authorize_visible, record

from ._access import visible, visible_row
from ._archive import RecordingArchive
from ._errors import ExportError, InvalidRangeError, RecordingNotFoundError
from ._foreign_tables import case_row, case_unit
from ._models import EvidenceExportRow, RecordingSegmentRow
from ._naming import MANIFEST_NAME
from ._package import instructions, viewing_copy_command, watermark_font_size
from ._policy import clips_for_range

__all__ = ["EvidenceExporter", "ExportRange"]

log = logging.getLogger("gateway.recordings")


@dataclass(frozen=True, slots=True)
class ExportRange:
    recording_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class _Plan:
    case_number: str
    exporter: str
    at: datetime
    reason: str
    clips: list[tuple[Path, float, float]]
    members: list[tuple[Path, str]]  # (file on disk, name in the zip)
    seconds: float


class EvidenceExporter:
    """Owns the export tasks; ``close()`` cancels those still building.

    Reads originals from the archive and signs with its key; packages go to ``exports/``
    beside the recordings directory.
    """

    def __init__(self, db: Database, archive: RecordingArchive, zone: tzinfo | None = None) -> None:
        self.db = db
        self.archive = archive
        #: The deployment's zone: the watermark's export time is read by people there.
        self.zone = zone if zone is not None else ZoneInfo("Asia/Shanghai")
        self.root = archive.data_dir / "exports"
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, {}
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait(self, export_id: str) -> None:
        task = self._tasks.get(export_id)
        if task is not None:
            await asyncio.shield(task)

    async def start(
        self, actor: Principal, case_id: int, ranges: list[ExportRange], reason: str
    ) -> dict[str, Any]:
        reason = reason.strip()
        if not reason:
            raise InvalidRangeError("an evidence export needs a reason")
        if not ranges:
            raise InvalidRangeError("pick at least one time range of a recording")
        export_id = f"exp-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        async with self.db.transaction() as session:
            case = await case_row(session, case_id)
            unit = await case_unit(session, case_id)
            missing = RecordingNotFoundError(f"there is no case {case_id}", code="case_not_found")
            if case is None or unit is None:
                raise missing
            authorize_visible(actor, Permission.RECORDING_EXPORT, unit, missing)
            clips: list[tuple[Path, float, float]] = []
            members: dict[str, Path] = {}
            for wanted in ranges:
                row = await visible_row(
                    session, actor, wanted.recording_id, Permission.RECORDING_EXPORT
                )
                segments = (
                    await session.scalars(
                        select(RecordingSegmentRow)
                        .where(RecordingSegmentRow.recording_id == row.id)
                        .order_by(RecordingSegmentRow.idx)
                    )
                ).all()
                try:
                    picked = clips_for_range(
                        [(s.name, s.start, s.end) for s in segments], wanted.start, wanted.end
                    )
                except ValueError as exc:
                    raise InvalidRangeError(str(exc)) from None
                if not picked:
                    raise InvalidRangeError(
                        f"recording {row.id} has no media between {wanted.start.isoformat()} "
                        f"and {wanted.end.isoformat()}"
                    )
                directory = self.archive.directory(row)
                members[f"recordings/{row.id}/{MANIFEST_NAME}"] = directory / MANIFEST_NAME
                for clip in picked:
                    members[f"recordings/{row.id}/{clip.name}"] = directory / clip.name
                    clips.append((directory / clip.name, clip.offset, clip.duration))
            now = datetime.now(UTC)
            session.add(
                EvidenceExportRow(
                    id=export_id,
                    case_id=case_id,
                    unit_code=unit,
                    requested_by=actor.actor,
                    reason=reason,
                    ranges=json.dumps(
                        [
                            {
                                "recording_id": r.recording_id,
                                "start": r.start.isoformat(),
                                "end": r.end.isoformat(),
                            }
                            for r in ranges
                        ]
                    ),
                    state="building",
                    progress=0.0,
                    created_at=now,
                )
            )
            await record(
                session,
                actor,
                "recording.export",
                object_type="case",
                object_id=case_id,
                unit_code=unit,
                detail={"export": export_id, "reason": reason, "clips": len(clips)},
            )
        plan = _Plan(
            case.number,
            actor.name,
            now,
            reason,
            clips,
            [(path, name) for name, path in members.items()],
            sum(c[2] for c in clips),
        )
        self._tasks[export_id] = asyncio.create_task(
            self._build(export_id, plan), name=f"export {export_id}"
        )
        return {"id": export_id, "state": "building", "progress": 0.0}

    async def _visible(
        self, session: AsyncSession, actor: Principal, export_id: str
    ) -> EvidenceExportRow:
        """The export for a caller: absent and out of scope alike are "not found"."""
        row = await session.get(EvidenceExportRow, export_id)
        if row is None or not visible(actor, row.unit_code):
            raise RecordingNotFoundError(f"no export {export_id} in your scope")
        authorize(actor, Permission.RECORDING_EXPORT, row.unit_code)
        return row

    async def status(self, actor: Principal, export_id: str) -> EvidenceExportRow:
        async with self.db.transaction() as session:
            row = await self._visible(session, actor, export_id)
            return row

    async def download(self, actor: Principal, export_id: str) -> Path:
        async with self.db.transaction() as session:
            row = await self._visible(session, actor, export_id)
            if row.state != "done" or row.path is None:
                raise ExportError(f"export {export_id} is {row.state}, not ready", code="not_ready")
            await record(
                session,
                actor,
                "recording.export.download",
                object_type="case",
                object_id=row.case_id,
                unit_code=row.unit_code,
                detail={"export": export_id, "sha256": row.sha256},
            )
            return self.root / row.path

    async def _progress(self, export_id: str, value: float) -> None:
        async with self.db.transaction() as session:
            row = await session.get(EvidenceExportRow, export_id)
            if row is not None:
                row.progress = round(min(max(value, 0.0), 1.0), 3)

    async def _build(self, export_id: str, plan: _Plan) -> None:
        staging = self.root / export_id
        try:
            await asyncio.to_thread(staging.mkdir, parents=True, exist_ok=True)
            key = self.archive.signing_key()
            stamp = plan.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
            zone_name = getattr(self.zone, "key", str(self.zone))
            stamp += " 北京时间" if zone_name == "Asia/Shanghai" else f" {zone_name}"
            # Two short lines rather than one long one: the text stays large enough to read.
            text = f"案件 {plan.case_number}  导出人 {plan.exporter}\n导出时间 {stamp}"
            watermark = staging / "watermark.txt"
            await asyncio.to_thread(watermark.write_text, text, encoding="utf-8")
            audio, width, height = await asyncio.to_thread(_probe, plan.clips[0][0])
            viewing = staging / "viewing-copy.mp4"
            args = viewing_copy_command(
                plan.clips,
                watermark,
                viewing,
                audio=audio,
                fontsize=watermark_font_size(text, width, height),
            )
            await self._run_ffmpeg(export_id, args, plan.seconds)
            meta = {
                "export_id": export_id,
                "case_number": plan.case_number,
                "exporter": plan.exporter,
                "exported_at": plan.at.isoformat(),
                "reason": plan.reason,
                "key_id": key.key_id,
                "clips": [
                    {"file": str(p.name), "offset": o, "seconds": s} for p, o, s in plan.clips
                ],
            }
            extra = {
                "README.txt": instructions(plan.case_number, key.key_id).encode(),
                "export.json": json.dumps(meta, ensure_ascii=False, indent=1).encode(),
                "public-key.pem": key.public_pem(),
            }
            target = self.root / f"{export_id}.zip"
            digest, size = await asyncio.to_thread(_zip, target, plan.members, viewing, extra)
            async with self.db.transaction() as session:
                row = await session.get(EvidenceExportRow, export_id)
                assert row is not None
                row.state, row.progress, row.finished_at = "done", 1.0, datetime.now(UTC)
                row.path, row.sha256, row.bytes = target.name, digest, size
        except Exception as exc:
            log.exception("evidence export failed", extra={"export": export_id})
            async with self.db.transaction() as session:
                row = await session.get(EvidenceExportRow, export_id)
                if row is not None:
                    row.state, row.error, row.finished_at = "failed", str(exc), datetime.now(UTC)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)
            self._tasks.pop(export_id, None)

    async def _run_ffmpeg(self, export_id: str, args: list[str], seconds: float) -> None:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.ensure_future(proc.stderr.read())
        try:
            async for raw in proc.stdout:
                key, _, value = raw.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.isdigit() and seconds > 0:
                    await self._progress(export_id, 0.9 * int(value) / 1e6 / seconds)
            code = await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        finally:
            stderr = await errors
        if code != 0:
            raise ExportError(
                f"ffmpeg could not make the viewing copy (exit {code}): "
                f"{stderr.decode(errors='replace')[-400:]}"
            )


def _probe(path: Path) -> tuple[bool, int, int]:
    """Whether the clip has audio, and its picture's width and height."""
    with av.open(str(path)) as container:
        audio = any(s.frames or s.duration for s in container.streams.audio[:1])
        video = container.streams.video[0]
        return audio, int(video.codec_context.width), int(video.codec_context.height)


def _zip(
    target: Path, members: list[tuple[Path, str]], viewing: Path, extra: dict[str, bytes]
) -> tuple[str, int]:
    sums: list[str] = []
    tmp = target.with_name(target.name + ".tmp")
    # Media is already compressed: store it; compress only the small text files.
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, data in extra.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
        for path, name in [*members, (viewing, "viewing-copy.mp4")]:
            digest = hashlib.sha256()
            with path.open("rb") as src, zf.open(name, "w", force_zip64=True) as dst:
                while block := src.read(1 << 20):
                    digest.update(block)
                    dst.write(block)
            sums.append(f"{digest.hexdigest()}  {name}")
        zf.writestr("SHA256SUMS", "\n".join(sums) + "\n")
    tmp.replace(target)
    digest = hashlib.sha256()
    size = 0
    with target.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
