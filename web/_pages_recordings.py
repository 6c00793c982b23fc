"""Pages of recordings: a day's timeline per camera with gaps, playback with seeking,
thumbnails, case links and evidence export with progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from core import Permission, authorize
from recordings import TimelineSpan

from ._api_recordings import _service
from ._context import SETTINGS, current_principal
from ._render import local_time, render_page

__all__ = ["routes", "timeline_rows"]

routes = web.RouteTableDef()

DAY = 86400.0


def _percent(moment: datetime, day_start: datetime) -> float:
    return min(100.0, max(0.0, (moment - day_start).total_seconds() / DAY * 100))


def timeline_rows(
    spans: list[TimelineSpan], day_start: datetime, zone: tzinfo
) -> list[dict[str, Any]]:
    """Per camera: bars of recorded media and gaps, as left/width percentages of the day
    (a day in the deployment's ``zone``)."""
    rows: dict[Any, dict[str, Any]] = {}
    day_end = day_start + timedelta(days=1)
    for span in spans:
        if span.end <= day_start or span.start >= day_end:
            continue
        row = rows.setdefault(span.camera_id, {"camera_id": span.camera_id, "bars": []})
        left = _percent(span.start, day_start)
        width = max(0.05, _percent(span.end, day_start) - left)
        title = f"{span.start.astimezone(zone):%H:%M:%S}–{span.end.astimezone(zone):%H:%M:%S}"
        if span.kind == "gap":
            title += f" {span.reason}"
        bar = {"kind": span.kind, "left": round(left, 3), "width": round(width, 3)}
        bar |= {"title": title, "recording": span.recording_id, "segment": span.segment}
        row["bars"].append(bar)
    return sorted(rows.values(), key=lambda r: (r["camera_id"] is None, r["camera_id"] or 0))


@routes.get("/recordings")
async def recordings_page(request: web.Request) -> web.StreamResponse:
    actor = current_principal(request)
    authorize(actor, Permission.RECORDING_VIEW, actor.unit_code)
    zone = request.app[SETTINGS].zone
    try:
        day = date.fromisoformat(request.query.get("day", ""))
    except ValueError:
        day = datetime.now(zone).date()
    day_start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    camera = request.query.get("camera_id", "")
    camera_id = int(camera) if camera.isdigit() else None
    day_end = day_start + timedelta(days=1)
    service = _service(request)
    # The table lists the day's newest page; the timeline shows every segment of the day.
    found = await service.search(actor, camera_id=camera_id, start=day_start, end=day_end)
    spans = await service.timeline(actor, start=day_start, end=day_end, camera_id=camera_id)
    return render_page(
        request,
        "recordings.html",
        {
            "day": day.isoformat(),
            "prev_day": (day - timedelta(days=1)).isoformat(),
            "next_day": (day + timedelta(days=1)).isoformat(),
            "rows": timeline_rows(spans, day_start, zone),
            "recordings": found.recordings,
            "camera_id": camera,
            "hours": list(range(0, 25, 3)),
        },
    )


@routes.get("/recordings/{recording_id}")
async def recording_page(request: web.Request) -> web.StreamResponse:
    actor = current_principal(request)
    rec = await _service(request).get(actor, request.match_info["recording_id"])
    zone = request.app[SETTINGS].zone
    return render_page(
        request,
        "recording.html",
        {
            "rec": rec,
            "local": lambda iso: local_time(iso, "%Y-%m-%d %H:%M:%S", zone=zone) if iso else "",
            "can_control": actor.has(Permission.RECORDING_CONTROL),
            "can_export": actor.has(Permission.RECORDING_EXPORT),
        },
    )
