"""JSON API of the weekly video meetings (issue 12): series, occurrences, start and end.

Dates and times are Beijing time where a person reads or types them (``from``/``to``,
``start``, ``local_start``) and UTC instants where a program reads them (``starts_at``).
"""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from core import InvalidInputError, UnavailableError
from meetings import (
    MeetingRooms,
    MeetingService,
    OccurrenceChange,
    OccurrenceView,
    SeriesInput,
    beijing_date,
    monthly_csv,
    monthly_xlsx,
    parse_day,
    report_csv,
    report_xlsx,
)

from ._api import Api, Query
from ._api_cameras import CAMERA_LEASES
from ._api_cases import jsonable
from ._cluster import forward_to_node
from ._context import current_principal
from ._schema import read_json

__all__ = ["MEETINGS", "ROOMS", "api", "occurrence_json"]

MEETINGS = web.AppKey("meetings", MeetingService)
#: The meeting rooms this process hosts.
ROOMS = web.AppKey("meeting_rooms", MeetingRooms)

_SDP = "application/sdp"

api = Api("meetings")


def _service(request: web.Request) -> MeetingService:
    service = request.app.get(MEETINGS)
    if service is None:
        raise UnavailableError("meetings are not running in this gateway process")
    return service


def _rooms(request: web.Request) -> MeetingRooms:
    rooms = request.app.get(ROOMS)
    if rooms is None:
        raise UnavailableError("meeting rooms are not running in this gateway process")
    return rooms


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInputError("send a JSON object")
    return body


def occurrence_json(view: OccurrenceView) -> dict[str, Any]:
    body: dict[str, Any] = jsonable(view)
    return body


async def _forward(request: web.Request) -> web.StreamResponse | None:
    """Hand the request to the process hosting the running meeting's room, if that is a
    live sibling (any process answers; the room's media lives in one)."""
    view = await _service(request).occurrence(
        current_principal(request), request.match_info["occurrence_id"]
    )
    if view.state != "running":
        return None
    return await forward_to_node(request, view.node_id)


def _node_id(request: web.Request) -> str:
    leases = request.app.get(CAMERA_LEASES)
    return leases.node_id if leases is not None else "local"


@api.post(
    "/api/meetings",
    "Create a meeting series of a unit: village_weekly (Thursday by default), "
    "township_weekly (Friday 09:00, chaired by the township's chair), or adhoc (one date)",
    body=SeriesInput,
    status=201,
)
async def create_series(request: web.Request) -> web.StreamResponse:
    data = await read_json(request, SeriesInput)
    series = await _service(request).create_series(current_principal(request), data)
    return web.json_response(jsonable(series), status=201)


@api.get(
    "/api/meetings",
    "Occurrences visible to the caller between two Beijing dates (today … 4 weeks by default)",
    query=(
        Query("unit", "only meetings held by this unit (division code)"),
        Query("from", "first Beijing date, YYYY-MM-DD"),
        Query("to", "last Beijing date, YYYY-MM-DD (inclusive)"),
    ),
)
async def list_occurrences(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    today = beijing_date(service.now())
    start = parse_day(request.query["from"], "from") if "from" in request.query else today
    end = (
        parse_day(request.query["to"], "to")
        if "to" in request.query
        else start + timedelta(days=28)
    )
    views = await service.occurrences(
        current_principal(request), unit=request.query.get("unit") or None, start=start, end=end
    )
    return web.json_response(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "occurrences": [jsonable(v) for v in views],
        }
    )


@api.get(
    "/api/meetings/calendar",
    "The secret link of your calendar feed (ICS) of the meetings you may attend; changing "
    "your password renews it",
)
async def calendar_link(request: web.Request) -> web.StreamResponse:
    path = await _service(request).feed_path(current_principal(request))
    return web.json_response({"path": path, "url": f"{request.scheme}://{request.host}{path}"})


@api.get(
    "/api/meetings/calendar/{feed}.ics",
    "A person's meeting calendar (iCalendar); the link from /api/meetings/calendar is the key",
    public=True,
)
async def calendar_feed(request: web.Request) -> web.StreamResponse:
    text = await _service(request).feed(
        request.match_info["feed"], base_url=f"{request.scheme}://{request.host}"
    )
    return web.Response(
        body=text.encode("utf-8"),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


@api.get(
    "/api/meetings/occurrences/{occurrence_id}",
    "One occurrence with its agenda, minutes and required attendees",
)
async def get_occurrence(request: web.Request) -> web.StreamResponse:
    view = await _service(request).occurrence(
        current_principal(request), request.match_info["occurrence_id"]
    )
    return web.json_response(occurrence_json(view))


@api.patch(
    "/api/meetings/occurrences/{occurrence_id}",
    "Change one occurrence: move it, change its duration, cancel or restore it, set the "
    "agenda or minutes (the chair or an administrator)",
    body=OccurrenceChange,
)
async def change_occurrence(request: web.Request) -> web.StreamResponse:
    change = await read_json(request, OccurrenceChange)
    view = await _service(request).change(
        current_principal(request), request.match_info["occurrence_id"], change
    )
    return web.json_response(occurrence_json(view))


@api.post(
    "/api/meetings/occurrences/{occurrence_id}/start",
    "Start the meeting: its room opens on this gateway process (the chair only)",
)
async def start_occurrence(request: web.Request) -> web.StreamResponse:
    view = await _service(request).start(
        current_principal(request), request.match_info["occurrence_id"], node_id=_node_id(request)
    )
    return web.json_response(occurrence_json(view))


@api.post(
    "/api/meetings/occurrences/{occurrence_id}/end",
    "End the meeting: everyone leaves the room (the chair only)",
)
async def end_occurrence(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    view = await _service(request).end(
        current_principal(request), request.match_info["occurrence_id"]
    )
    rooms = request.app.get(ROOMS)
    if rooms is not None:
        await rooms.end(view.id, "the chair ended the meeting")
    return web.json_response(occurrence_json(view))


@api.post(
    "/api/meetings/occurrences/{occurrence_id}/join",
    "Join the meeting's room: SDP offer (sendrecv; recvonly for a listener) in, 201 with the "
    "SDP answer and a Location to DELETE to leave; ?site= names the tile (the caller's unit "
    "by default); 409 before the chair starts it, 403 when the room is locked",
    body={"type": "string", "description": "SDP offer (RFC 8866)"},
    body_type=_SDP,
    status=201,
    query=(Query("site", "the site's name on its tile, e.g. 和平溪村"),),
)
async def join(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    if request.content_type != _SDP:
        raise InvalidInputError(
            f"send the offer as {_SDP} (got {request.content_type or 'no content type'})"
        )
    offer = await request.text()
    answer = await _rooms(request).join(
        current_principal(request),
        request.match_info["occurrence_id"],
        request.query.get("site"),
        offer,
    )
    location = (
        f"/api/meetings/occurrences/{answer.occurrence_id}/participants/{answer.participant_id}"
    )
    return web.Response(
        status=201,
        text=answer.sdp,
        content_type=_SDP,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "X-Participant": answer.participant_id,
        },
    )


@api.post(
    "/api/meetings/occurrences/{occurrence_id}/cameras",
    "The chair adds a room camera as a site: {camera_id, site?, takeover?} — its picture "
    "from its hub, the meeting's sound through its speaker (holding its talk floor: 409 "
    "with who talks there, unless takeover); 201 with the participant and a Location",
    body={
        "type": "object",
        "properties": {
            "camera_id": {"type": "integer"},
            "site": {"type": "string"},
            "takeover": {"type": "boolean"},
        },
        "required": ["camera_id"],
    },
    status=201,
)
async def add_camera(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    body = await _json_object(request)
    unknown = set(body) - {"camera_id", "site", "takeover"}
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}")
    camera_id = body.get("camera_id")
    if isinstance(camera_id, bool) or not isinstance(camera_id, int):
        raise InvalidInputError("camera_id must be the camera's id (an integer)")
    site = body.get("site")
    if site is not None and not isinstance(site, str):
        raise InvalidInputError("site must be a name")
    takeover = body.get("takeover", False)
    if not isinstance(takeover, bool):
        raise InvalidInputError("takeover must be true or false")
    answer = await _rooms(request).add_camera(
        current_principal(request),
        request.match_info["occurrence_id"],
        camera_id,
        site=site,
        takeover=takeover,
    )
    location = (
        f"/api/meetings/occurrences/{answer.occurrence_id}/participants/{answer.participant_id}"
    )
    return web.json_response(
        {"participant": answer.participant_id, "site": answer.site},
        status=201,
        headers={"Location": location},
    )


@api.delete(
    "/api/meetings/occurrences/{occurrence_id}/participants/{participant_id}",
    "Leave the room (the participant itself, or the chair)",
    status=204,
)
async def leave(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    await _rooms(request).leave(
        current_principal(request),
        request.match_info["occurrence_id"],
        request.match_info["participant_id"],
    )
    return web.Response(status=204)


@api.post(
    "/api/meetings/occurrences/{occurrence_id}/control",
    "The chair controls the room: {action, participant, value}; answers the room's state",
    body={
        "type": "object",
        "properties": {
            "action": {"type": "string"},
            "participant": {"type": "string"},
            "value": {},
        },
        "required": ["action"],
    },
)
async def control(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    body = await _json_object(request)
    if not isinstance(body.get("action"), str):
        raise InvalidInputError('send {"action": …, "participant": …, "value": …} as JSON')
    unknown = set(body) - {"action", "participant", "value"}
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}")
    participant = body.get("participant")
    if participant is not None and not isinstance(participant, str):
        raise InvalidInputError("participant must be a participant id (string)")
    state = await _rooms(request).control(
        current_principal(request),
        request.match_info["occurrence_id"],
        body["action"],
        participant=participant,
        value=body.get("value"),
    )
    return web.json_response(state)


@api.patch(
    "/api/meetings/occurrences/{occurrence_id}/participants/{participant_id}",
    "A site for itself: {muted, hand_raised, answer} — unmuting is refused (403) while the "
    "chair forbids it; answer answers the roll call",
    body={
        "type": "object",
        "properties": {
            "muted": {"type": "boolean"},
            "hand_raised": {"type": "boolean"},
            "answer": {"type": "boolean"},
        },
    },
)
async def update_self(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    body = await _json_object(request)
    unknown = set(body) - {"muted", "hand_raised", "answer"}
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, bool | None] = {}
    for name in ("muted", "hand_raised", "answer"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be true or false")
        values[name] = value
    state = await _rooms(request).update_self(
        current_principal(request),
        request.match_info["occurrence_id"],
        request.match_info["participant_id"],
        **values,
    )
    return web.json_response(state)


@api.get(
    "/api/meetings/occurrences/{occurrence_id}/attendance",
    "Attendance of one occurrence against its required attendees (present, late, absent, "
    "left early) and its roll calls; .csv and .xlsx for downloads",
    query=(Query("lang", "zh (default) or en for the downloads"),),
)
async def attendance(request: web.Request) -> web.StreamResponse:
    report = await _service(request).attendance(
        current_principal(request), request.match_info["occurrence_id"]
    )
    return web.json_response(jsonable(report))


@api.get(
    "/api/meetings/occurrences/{occurrence_id}/attendance.{fmt:(csv|xlsx)}",
    "Attendance as a CSV or XLSX download (Beijing time; ?lang=en for English headings)",
    query=(Query("lang", "zh (default) or en"),),
)
async def attendance_download(request: web.Request) -> web.StreamResponse:
    report = await _service(request).attendance(
        current_principal(request), request.match_info["occurrence_id"]
    )
    lang = "en" if request.query.get("lang") == "en" else "zh"
    name = f"attendance-{report.occurrence}"
    if request.match_info["fmt"] == "csv":
        return web.Response(
            body=report_csv(report, lang=lang).encode("utf-8-sig"),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    data = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(report_xlsx, report, lang=lang)
    )
    return web.Response(
        body=data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@api.get(
    "/api/meetings/attendance/monthly",
    "A unit's meetings in a Beijing month with their attendance counts, and each required "
    "site's totals",
    query=(Query("unit", "division code"), Query("month", "YYYY-MM (Beijing)")),
)
async def monthly(request: web.Request) -> web.StreamResponse:
    unit = request.query.get("unit") or current_principal(request).unit_code
    month = request.query.get("month") or f"{beijing_date(_service(request).now()):%Y-%m}"
    summary = await _service(request).monthly(current_principal(request), unit, month)
    return web.json_response(jsonable(summary))


@api.get(
    "/api/meetings/attendance/monthly.{fmt:(csv|xlsx)}",
    "The monthly summary as a CSV or XLSX download: the unit by name, each meeting's "
    "counts, each required site's totals (?lang=en for English headings)",
    query=(
        Query("unit", "division code"),
        Query("month", "YYYY-MM (Beijing)"),
        Query("lang", "zh (default) or en"),
    ),
)
async def monthly_download(request: web.Request) -> web.StreamResponse:
    unit = request.query.get("unit") or current_principal(request).unit_code
    month = request.query.get("month") or f"{beijing_date(_service(request).now()):%Y-%m}"
    summary = await _service(request).monthly(current_principal(request), unit, month)
    lang = "en" if request.query.get("lang") == "en" else "zh"
    name = f"attendance-{summary.unit}-{summary.month}"
    if request.match_info["fmt"] == "csv":
        return web.Response(
            body=monthly_csv(summary, lang=lang).encode("utf-8-sig"),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    data = await asyncio.to_thread(monthly_xlsx, summary, lang=lang)
    return web.Response(
        body=data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@api.get(
    "/api/meetings/occurrences/{occurrence_id}/room",
    "The room now: participants with their tiles, layout, lock, the active speaker",
)
async def room_state(request: web.Request) -> web.StreamResponse:
    if (forwarded := await _forward(request)) is not None:
        return forwarded
    view = await _service(request).occurrence(
        current_principal(request), request.match_info["occurrence_id"]
    )
    room = _rooms(request).room(view.id)
    if room is None:
        return web.json_response({"occurrence": view.id, "open": False, "participants": []})
    return web.json_response({"open": True, **room.state()})
