"""Pages of recordings: a day's timeline per camera with gaps, playback with seeking,
thumbnails, case links and evidence export with progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from core import Permission, authorize

from ._api_recordings import _service
from ._context import current_principal
from ._render import render_page

__all__ = ["routes", "timeline_rows"]

routes = web.RouteTableDef()

ZONE = ZoneInfo("Asia/Shanghai")  # the centres' local time for the day view
DAY = 86400.0


def _percent(moment: datetime, day_start: datetime) -> float:
    return min(100.0, max(0.0, (moment - day_start).total_seconds() / DAY * 100))


def timeline_rows(recordings: list[dict[str, Any]], day_start: datetime) -> list[dict[str, Any]]:
    """Per camera: bars of recorded media and gaps, as left/width percentages of the day."""
    rows: dict[Any, dict[str, Any]] = {}
    day_end = day_start + timedelta(days=1)
    for rec in recordings:
        row = rows.setdefault(rec["camera_id"], {"camera_id": rec["camera_id"], "bars": []})
        for kind, items in (("media", rec["segments"]), ("gap", rec["gaps"])):
            for item in items:
                start = datetime.fromisoformat(item["start"])
                end = datetime.fromisoformat(item["end"])
                if end <= day_start or start >= day_end:
                    continue
                left = _percent(start, day_start)
                width = max(0.05, _percent(end, day_start) - left)
                title = f"{start.astimezone(ZONE):%H:%M:%S}–{end.astimezone(ZONE):%H:%M:%S}"
                if kind == "gap":
                    title += f" {item['reason']}"
                bar = {"kind": kind, "left": round(left, 3), "width": round(width, 3)}
                bar |= {"title": title, "recording": rec["id"]}
                bar["segment"] = item.get("index")
                row["bars"].append(bar)
    return sorted(rows.values(), key=lambda r: (r["camera_id"] is None, r["camera_id"] or 0))


@routes.get("/recordings")
async def recordings_page(request: web.Request) -> web.StreamResponse:
    actor = current_principal(request)
    authorize(actor, Permission.RECORDING_VIEW, actor.unit_code)
    try:
        day = date.fromisoformat(request.query.get("day", ""))
    except ValueError:
        day = datetime.now(ZONE).date()
    day_start = datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC)
    camera = request.query.get("camera_id", "")
    found = await _service(request).search(
        actor,
        camera_id=int(camera) if camera.isdigit() else None,
        start=day_start,
        end=day_start + timedelta(days=1),
    )
    return render_page(
        request,
        "recordings.html",
        {
            "day": day.isoformat(),
            "prev_day": (day - timedelta(days=1)).isoformat(),
            "next_day": (day + timedelta(days=1)).isoformat(),
            "rows": timeline_rows(found, day_start),
            "recordings": found,
            "camera_id": camera,
            "hours": list(range(0, 25, 3)),
        },
    )


@routes.get("/recordings/{recording_id}")
async def recording_page(request: web.Request) -> web.StreamResponse:
    actor = current_principal(request)
    rec = await _service(request).get(actor, request.match_info["recording_id"])
    return render_page(
        request,
        "recording.html",
        {
            "rec": rec,
            "local": lambda iso: (
                datetime.fromisoformat(iso).astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")
                if iso
                else ""
            ),
            "can_control": actor.has(Permission.RECORDING_CONTROL),
            "can_export": actor.has(Permission.RECORDING_EXPORT),
        },
    )
