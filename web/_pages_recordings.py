"""Pages of recordings: a day's timeline per camera with gaps, playback with seeking,
thumbnails, case links and evidence export with progress."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web
from sqlalchemy import select

from camera_registry import Camera
from cases import CaseQuery
from core import Permission, Room, Unit, authorize
from recordings import TimelineSpan

from ._api_cases import CASES
from ._api_recordings import _service
from ._context import DB, SETTINGS, current_principal
from ._i18n import language_of
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
    number = request.query.get("case", "").strip()
    day_end = day_start + timedelta(days=1)
    service = _service(request)
    case_id = None
    if number:
        # People know the case number; a case outside the scope is as unknown as a typo.
        case_id = 0
        if actor.has(Permission.CASE_READ):
            page = await request.app[CASES].search(actor, CaseQuery(text=number, limit=5))
            case_id = next((c.id for c in page.cases if c.number == number), 0)
    # The table lists the day's newest page (or the case's recordings, whatever the day);
    # the timeline shows every segment of the day.
    if case_id is not None:
        found = await service.search(actor, case_id=case_id or -1)
    else:
        found = await service.search(actor, camera_id=camera_id, start=day_start, end=day_end)
    spans = await service.timeline(actor, start=day_start, end=day_end, camera_id=camera_id)
    names = await _names(request)
    lang = language_of(request)
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
            "case": number,
            "unknown_case": number and not case_id,
            "hours": list(range(0, 25, 3)),
            "cam": lambda cid: names.get(cid, ("", "", "")),
            "reason": lambda text: reason_text(lang, text or ""),
            "cameras": sorted((cid, f"{n[1]} · {n[0]}") for cid, n in names.items()),
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


async def _names(request: web.Request) -> dict[int, tuple[str, str, str]]:
    """Camera id → (camera name, room name, unit name), for lists people read."""
    async with request.app[DB].read() as session:
        rooms = {r.id: r for r in await session.scalars(select(Room))}
        units = {u.code: u.name for u in await session.scalars(select(Unit))}
        out = {}
        for cam in await session.scalars(select(Camera)):
            room = rooms.get(cam.room_id)
            out[cam.id] = (
                cam.name,
                room.name if room else "",
                units.get(room.unit_code, "") if room else "",
            )
    return out


_MODES_ZH = {
    "continuous": "连续录像",
    "schedule": "按时段录像",
    "session": "调解时录像",
    "manual": "手动录像",
    "off": "不录像",
}


def reason_text(lang: str, reason: str) -> str:
    """A recording's reason in ``lang``: the gateway's own reasons are written in English
    in the index; a reason a person typed is shown as typed."""
    if lang != "zh-CN":
        return reason
    match = re.match(r"^mediation session \d+ of case (\S+)$", reason)
    if match:
        return f"案件 {match.group(1)} 的调解录像"
    match = re.match(r"^room policy: (\w+)$", reason)
    if match:
        return "房间录像策略：" + _MODES_ZH.get(match.group(1), match.group(1))
    return reason
