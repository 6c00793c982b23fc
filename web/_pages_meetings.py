"""Meeting pages (issue 12): the calendar, the join page with its device check and the
chair's console, and the attendance report.

The join page is a shell: ``/static/meetings.js`` checks the camera and microphone,
joins the room over WebRTC (the same ``…/join`` API), and — for the chair — runs the
console from ``…/room`` and ``…/control``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from core import NotFoundError, Permission
from meetings import AttendeeRole, MeetingKind, beijing_date

from ._api_meetings import MEETINGS
from ._api_recordings import RECORDINGS
from ._context import DB, ORG, current_principal
from ._render import render_page

__all__ = ["routes"]

routes = web.RouteTableDef()

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@routes.get("/meetings")
async def calendar(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    service = request.app[MEETINGS]
    today = beijing_date(service.now())
    occurrences = await service.occurrences(
        principal, unit=None, start=today, end=today + timedelta(days=27)
    )
    days: dict[str, list[object]] = {}
    for view in occurrences:
        days.setdefault(view.local_start[:10], []).append(view)
    units = []
    if principal.has(Permission.MEETING_CHAIR):
        async with request.app[DB].read() as session:
            units = await request.app[ORG].units(session, principal)
    return render_page(
        request,
        "meetings.html",
        {
            "days": days,
            "today": today.isoformat(),
            "units": units,
            "kinds": [k.value for k in MeetingKind],
            "weekdays": WEEKDAYS,
            "can_create": principal.has(Permission.MEETING_CHAIR),
        },
    )


@routes.get("/meetings/monthly")
async def monthly(request: web.Request) -> web.StreamResponse:
    """A unit's meetings in a month with their attendance, and each site's totals."""
    principal = current_principal(request)
    service = request.app[MEETINGS]
    unit = request.query.get("unit") or principal.unit_code
    month = request.query.get("month") or f"{beijing_date(service.now()):%Y-%m}"
    summary = await service.monthly(principal, unit, month)
    async with request.app[DB].read() as session:
        units = await request.app[ORG].units(session, principal)
    return render_page(
        request, "meeting_monthly.html", {"summary": summary, "units": units, "unit": unit}
    )


@routes.get("/meetings/{occurrence_id}")
async def meeting(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    view = await request.app[MEETINGS].occurrence(principal, request.match_info["occurrence_id"])
    site = await request.app[MEETINGS].site_name(principal)
    return render_page(
        request,
        "meeting.html",
        {
            "meeting": view,
            "site": site,
            "is_chair": principal.kind == "user" and principal.name == view.chair,
            "can_join": principal.has(Permission.MEETING_JOIN),
            "roles": {r.value: r.label_zh for r in AttendeeRole},
            "secure_hint": request.secure
            or request.host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]"),
        },
    )


@routes.get("/meetings/{occurrence_id}/attendance")
async def attendance(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    service = request.app[MEETINGS]
    view = await service.occurrence(principal, request.match_info["occurrence_id"])
    report = await service.attendance(principal, view.id)
    return render_page(
        request,
        "meeting_attendance.html",
        {
            "meeting": view,
            "report": report,
            "recordings": await _recordings(request, view.id),
            "can_view_recordings": principal.has(Permission.RECORDING_VIEW),
        },
    )


async def _recordings(request: web.Request, occurrence_id: str) -> list[dict[str, Any]]:
    """The occurrence's recordings, as its events name them, that the reader may see
    (the recording's own scope decides; one out of scope or purged is left out)."""
    principal = current_principal(request)
    if RECORDINGS not in request.app or not principal.has(Permission.RECORDING_VIEW):
        return []
    ids: list[str] = []
    for event in await request.app[MEETINGS].events(occurrence_id):
        rid = event.detail.get("recording") if event.kind == "recording" else None
        if isinstance(rid, str) and rid not in ids:
            ids.append(rid)
    found = []
    for rid in ids:
        try:
            found.append(await request.app[RECORDINGS].get(principal, rid))
        except NotFoundError:
            continue
    return found
