"""JSON API of recordings: start/stop, search, detail, case links, playback, export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from core import InvalidInputError, UnavailableError
from recordings import (
    MAX_PAGE,
    ROOM_MODES,
    EvidenceExporter,
    EvidenceExportRow,
    ExportRange,
    Housekeeper,
    RecordingPage,
    RecordingService,
    policy_windows,
    recording_json,
)

from ._api import Api, Query
from ._cluster import forward_if_remote
from ._context import current_principal
from ._schema import path_id, query_int, read_json

__all__ = [
    "EXPORTS",
    "HOUSEKEEPER",
    "RECORDINGS",
    "api",
    "export_json",
    "page_json",
    "parse_time",
]

RECORDINGS = web.AppKey("recordings", RecordingService)
EXPORTS = web.AppKey("evidence_exports", EvidenceExporter)
HOUSEKEEPER = web.AppKey("recordings_housekeeper", Housekeeper)

api = Api("recordings")


def _service(request: web.Request) -> RecordingService:
    if RECORDINGS not in request.app:
        raise UnavailableError("recording is not available: this gateway runs no cameras")
    return request.app[RECORDINGS]


def _exporter(request: web.Request) -> EvidenceExporter:
    if EXPORTS not in request.app:
        raise UnavailableError("evidence export is not available: this gateway runs no cameras")
    return request.app[EXPORTS]


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with a zone (``2026-11-27T08:00:00+08:00``); None when empty."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{name} must be an ISO 8601 time, got {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidInputError(f"{name} needs a time zone (e.g. +08:00 or Z)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+08:00 is before the first UTC instant
        raise InvalidInputError(f"{name} is out of range, got {value!r}") from None


def _int(request: web.Request, name: str) -> int:
    return path_id(request, name)


def _query_int(request: web.Request, name: str) -> int | None:
    return query_int(request, name, minimum=0)


@dataclass(frozen=True)
class StartBody:
    reason: str = field(metadata={"max_length": 500})


@dataclass(frozen=True)
class StopBody:
    reason: str = field(default="stopped from the API", metadata={"max_length": 500})


@dataclass(frozen=True)
class AttachBody:
    recording_id: str = field(metadata={"max_length": 40})
    note: str = field(default="", metadata={"max_length": 1000})
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class RangeBody:
    recording_id: str = field(metadata={"max_length": 40})
    start: str
    end: str


@dataclass(frozen=True)
class ExportBody:
    reason: str = field(metadata={"max_length": 500})
    ranges: list[RangeBody]


@dataclass(frozen=True)
class WindowBody:
    weekdays: list[int] = field(metadata={"description": "0 = Monday … 6 = Sunday", "max_items": 7})
    start: str = field(metadata={"description": "local time HH:MM"})
    end: str = field(metadata={"description": "local time HH:MM, after start"})


@dataclass(frozen=True)
class PolicyBody:
    # Passed through as given: recordings checks the choice and says what is wrong.
    mode: str = field(metadata={"description": " | ".join(m.value for m in ROOM_MODES)})
    #: a week cut into windows: a hundred is more than any schedule needs
    windows: list[WindowBody] = field(default_factory=list, metadata={"max_items": 100})


@api.post(
    "/api/cameras/{camera_id}/recordings",
    "Start recording a camera (manual, with a reason)",
    body=StartBody,
    status=201,
)
async def start_recording(request: web.Request) -> web.StreamResponse:
    # the recorder of the process that runs the camera writes it
    if (forwarded := await forward_if_remote(request, _int(request, "camera_id"))) is not None:
        return forwarded
    body = await read_json(request, StartBody)
    service = _service(request)
    row = await service.start_recording(
        current_principal(request), _int(request, "camera_id"), body.reason
    )
    return web.json_response(recording_json(row), status=201)


@api.post("/api/recordings/{recording_id}/stop", "Stop a running recording", body=StopBody)
async def stop_recording(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    recording_id = request.match_info["recording_id"]
    if not service.recorder.is_running(recording_id):  # maybe another process writes it
        camera_id = await service.catalog.camera_of(current_principal(request), recording_id)
        if (
            camera_id is not None
            and (forwarded := await forward_if_remote(request, camera_id)) is not None
        ):
            return forwarded
    body = await read_json(request, StopBody) if request.can_read_body else StopBody()
    row = await service.stop_recording(current_principal(request), recording_id, body.reason)
    return web.json_response(recording_json(row))


PAGING = (
    Query(
        "limit",
        f"recordings per page, 1 to {MAX_PAGE} (default {MAX_PAGE})",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": MAX_PAGE},
    ),
    Query(
        "offset",
        "recordings to skip: the next page starts at offset + limit while that is below total",
        {"type": "integer", "minimum": 0, "default": 0},
    ),
)
PAGE_ANSWER = (
    "Newest first, only recordings of your unit and the units below it: the scope and the "
    "filters are applied before paging, so `total` counts every match you may see and each "
    "page is full of them. Answer: `{total, limit, offset, recordings: [...]}`; a list row "
    "carries the recording, its case links and its legal hold, not its segments (those are "
    "in `GET /api/recordings/{recording_id}`)."
)


def page_json(page: RecordingPage) -> dict[str, Any]:
    return {
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "recordings": page.recordings,
    }


def _paging(request: web.Request) -> tuple[int, int]:
    """``limit`` and ``offset`` as given (recordings checks their bounds), or the defaults."""
    limit, offset = _query_int(request, "limit"), _query_int(request, "offset")
    return (MAX_PAGE if limit is None else limit), (offset or 0)


@api.get(
    "/api/recordings",
    "Search recordings in your scope by camera, room, case and time range, a page at a time",
    query=(
        "camera_id",
        "room_id",
        "case_id",
        Query("from", "recordings with media after this ISO 8601 time"),
        Query("to", "recordings started before this ISO 8601 time"),
        *PAGING,
    ),
    description=PAGE_ANSWER,
)
async def search(request: web.Request) -> web.StreamResponse:
    limit, offset = _paging(request)
    page = await _service(request).search(
        current_principal(request),
        camera_id=_query_int(request, "camera_id"),
        room_id=_query_int(request, "room_id"),
        case_id=_query_int(request, "case_id"),
        start=parse_time(request.query.get("from"), "from"),
        end=parse_time(request.query.get("to"), "to"),
        limit=limit,
        offset=offset,
    )
    return web.json_response(page_json(page))


@api.get("/api/recordings/public-key", "The gateway's recording-signing public key (PEM)")
async def public_key(request: web.Request) -> web.StreamResponse:
    current_principal(request)
    key = _service(request).signing_key()
    return web.Response(
        body=key.public_pem(),
        content_type="application/x-pem-file",
        headers={"X-Key-Id": key.key_id},
    )


@api.get("/api/recordings/{recording_id}", "A recording: segments, gaps, hashes, cases")
async def detail(request: web.Request) -> web.StreamResponse:
    found = await _service(request).get(
        current_principal(request), request.match_info["recording_id"]
    )
    return web.json_response(found)


@api.get("/api/recordings/{recording_id}/verify", "Re-hash and check chain and signature")
async def verify(request: web.Request) -> web.StreamResponse:
    report = await _service(request).verify(
        current_principal(request), request.match_info["recording_id"]
    )
    return web.json_response(
        {
            "ok": report.ok,
            "segments": report.segments,
            "bytes": report.bytes,
            "problems": [{"segment": p.segment, "reason": p.reason} for p in report.problems],
            "summary": report.summary(),
        }
    )


@api.get(
    "/api/recordings/{recording_id}/segments/{index}.mp4",
    "Play a segment (MP4, HTTP Range supported; audited)",
)
async def segment(request: web.Request) -> web.StreamResponse:
    # Browsers fetch a video in many ranges: audit the first request of each playback.
    ranged = request.http_range.start not in (None, 0)
    path = await _service(request).segment_file(
        current_principal(request),
        request.match_info["recording_id"],
        _int(request, "index"),
        audit=not ranged,
    )
    return web.FileResponse(path, headers={"Content-Type": "video/mp4", "Cache-Control": "private"})


@api.get("/api/recordings/{recording_id}/segments/{index}.jpg", "Thumbnail of a segment (JPEG)")
async def segment_thumbnail(request: web.Request) -> web.StreamResponse:
    data = await _service(request).thumbnail(
        current_principal(request), request.match_info["recording_id"], _int(request, "index")
    )
    return web.Response(body=data, content_type="image/jpeg")


@api.post(
    "/api/cases/{case_id}/recordings",
    "Attach a recording (or a time range of it) to a case, with a note",
    body=AttachBody,
    status=201,
)
async def attach(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, AttachBody)
    case_id = _int(request, "case_id")
    link = await _service(request).attach(
        current_principal(request),
        case_id,
        body.recording_id,
        start=parse_time(body.start, "start"),
        end=parse_time(body.end, "end"),
        note=body.note,
    )
    return web.json_response({"link_id": link, "case_id": case_id}, status=201)


@api.get(
    "/api/cases/{case_id}/recordings",
    "The recordings attached to a case (those in your scope), a page at a time",
    query=PAGING,
    description=PAGE_ANSWER,
)
async def case_recordings(request: web.Request) -> web.StreamResponse:
    limit, offset = _paging(request)
    page = await _service(request).search(
        current_principal(request), case_id=_int(request, "case_id"), limit=limit, offset=offset
    )
    return web.json_response(page_json(page))


@api.delete("/api/cases/{case_id}/recordings/{link_id}", "Detach a recording from a case")
async def detach(request: web.Request) -> web.StreamResponse:
    await _service(request).detach(
        current_principal(request), _int(request, "case_id"), _int(request, "link_id")
    )
    return web.json_response({"detached": True})


def export_json(row: EvidenceExportRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "state": row.state,
        "progress": row.progress,
        "reason": row.reason,
        "requested_by": row.requested_by,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "sha256": row.sha256,
        "bytes": row.bytes,
        "error": row.error,
        "download": f"/api/exports/{row.id}/download" if row.state == "done" else None,
    }


@api.post(
    "/api/cases/{case_id}/exports",
    "Build an evidence package of time ranges (progress at /api/exports/{id})",
    body=ExportBody,
    status=202,
)
async def start_export(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, ExportBody)
    ranges = []
    for i, item in enumerate(body.ranges):
        start = parse_time(item.start, f"ranges[{i}].start")
        end = parse_time(item.end, f"ranges[{i}].end")
        if start is None or end is None:
            raise InvalidInputError(f"ranges[{i}] needs a start and an end time")
        ranges.append(ExportRange(item.recording_id, start, end))
    started = await _exporter(request).start(
        current_principal(request), _int(request, "case_id"), ranges, body.reason
    )
    return web.json_response(started, status=202)


@api.get("/api/exports/{export_id}", "Progress and result of an evidence export")
async def export_status(request: web.Request) -> web.StreamResponse:
    row = await _exporter(request).status(
        current_principal(request), request.match_info["export_id"]
    )
    return web.json_response(export_json(row))


@api.get("/api/exports/{export_id}/download", "Download a finished evidence package (audited)")
async def export_download(request: web.Request) -> web.StreamResponse:
    export_id = request.match_info["export_id"]
    path: Path = await _exporter(request).download(current_principal(request), export_id)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{export_id}.zip"',
        },
    )


@api.post(
    "/api/rooms/{room_id}/recording-policy",
    "Set how a room records: off, continuous, schedule or session",
    body=PolicyBody,
)
async def set_policy(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, PolicyBody)
    room_id = _int(request, "room_id")
    policy = await _service(request).set_room_policy(
        current_principal(request),
        room_id,
        body.mode,
        [(w.weekdays, w.start, w.end) for w in body.windows],
    )
    if HOUSEKEEPER in request.app:
        request.app[HOUSEKEEPER].wake()  # the new policy applies now, not at the next round
    return web.json_response(
        {"room_id": room_id, "mode": policy.mode.value, "windows": policy_windows(policy)}
    )
