"""JSON API of the weekly video meetings (issue 12): series, occurrences, start and end.

Dates and times are Beijing time where a person reads or types them (``from``/``to``,
``start``, ``local_start``) and UTC instants where a program reads them (``starts_at``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from core import UnavailableError
from meetings import (
    MeetingService,
    OccurrenceChange,
    OccurrenceView,
    SeriesInput,
    beijing_date,
    parse_day,
)

from ._api import Api, Query
from ._api_cameras import CAMERA_LEASES
from ._api_cases import jsonable
from ._context import current_principal
from ._schema import read_json

__all__ = ["MEETINGS", "api", "occurrence_json"]

MEETINGS = web.AppKey("meetings", MeetingService)

api = Api("meetings")


def _service(request: web.Request) -> MeetingService:
    service = request.app.get(MEETINGS)
    if service is None:
        raise UnavailableError("meetings are not running in this gateway process")
    return service


def occurrence_json(view: OccurrenceView) -> dict[str, Any]:
    body: dict[str, Any] = jsonable(view)
    return body


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
    view = await _service(request).end(
        current_principal(request), request.match_info["occurrence_id"]
    )
    return web.json_response(occurrence_json(view))
