"""JSON/SDP API of live view and talk-back (WHEP-style signalling).

``POST /api/cameras/{id}/whep`` with an ``application/sdp`` offer answers ``201 Created``
with the SDP answer and a ``Location`` to ``DELETE`` when done (``?stream=sub`` for grid
tiles; the ``X-Stream`` header says which stream is served); ``/talk`` does the same
for a send-only microphone and takes the camera's talk floor (409 with who holds it).
The camera's unit decides who may open it; a refusal names neither camera nor unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from camera_registry import CameraManager, CameraState, parse_stream
from core import InvalidInputError, Permission, UnavailableError, User, authorize, can
from sessions import CameraRef, LiveSessions

from ._api import Api
from ._api_cameras import CAMERA_LEASES, CAMERA_REGISTRY, CAMERAS, state_json
from ._api_cases import CASES
from ._api_recordings import RECORDINGS
from ._cluster import forward_if_remote
from ._context import DB, current_principal
from ._schema import path_id

__all__ = ["LIVE", "api", "live_entry"]

#: The live-view and talk sessions of this process.
LIVE = web.AppKey("live", LiveSessions)

api = Api("live")

_SDP = "application/sdp"
_OFFER_SCHEMA = {"type": "string", "description": "SDP offer (RFC 8866)"}


def _manager(request: web.Request) -> CameraManager:
    manager = request.app.get(CAMERAS)
    if manager is None:
        raise UnavailableError("cameras are not running in this gateway process")
    return manager


def _live(request: web.Request) -> LiveSessions:
    live = request.app.get(LIVE)
    if live is None:
        raise UnavailableError("live view is not running in this gateway process")
    return live


def _camera_id(request: web.Request) -> int:
    return path_id(request, "camera_id")


def _camera(request: web.Request) -> CameraRef:
    """The camera of the path, authorized for viewing (403 outside the caller's scope)."""
    spec = _manager(request).spec(_camera_id(request))
    authorize(current_principal(request), Permission.CAMERA_VIEW, spec.unit_code)
    return CameraRef(spec.camera_id, spec.unit_code, spec.name)


async def _offer(request: web.Request) -> str:
    if request.content_type != _SDP:
        raise InvalidInputError(
            f"send the offer as {_SDP} (got {request.content_type or 'no content type'})"
        )
    return await request.text()


def _answer(
    request: web.Request, kind: str, session_id: str, sdp: str, stream: str | None = None
) -> web.Response:
    location = f"/api/cameras/{request.match_info['camera_id']}/{kind}/{session_id}"
    headers = {"Location": location, "Cache-Control": "no-store"}
    if stream is not None:
        headers["X-Stream"] = stream
    return web.Response(status=201, text=sdp, content_type=_SDP, headers=headers)


@api.post(
    "/api/cameras/{camera_id:\\d+}/whep",
    "Watch a camera (WHEP): SDP offer in, 201 with the SDP answer and a Location to DELETE; "
    "?stream=sub for the sub stream (grids), main by default; X-Stream names the one served "
    "(main when the camera has no sub stream)",
    body=_OFFER_SCHEMA,
    body_type=_SDP,
    status=201,
    query=("stream",),
)
async def open_view(request: web.Request) -> web.StreamResponse:
    if (forwarded := await forward_if_remote(request, _camera_id(request))) is not None:
        return forwarded
    camera = _camera(request)
    stream = parse_stream(request.query.get("stream", "main"))
    offer = await _offer(request)
    answer = await _live(request).open_view(
        current_principal(request), camera, offer, stream=stream
    )
    return _answer(request, "whep", answer.session_id, answer.sdp, answer.stream)


@api.delete(
    "/api/cameras/{camera_id:\\d+}/whep/{session_id}",
    "Stop watching (end the WHEP session)",
    status=204,
)
async def close_view(request: web.Request) -> web.StreamResponse:
    if (forwarded := await forward_if_remote(request, _camera_id(request))) is not None:
        return forwarded
    await _live(request).hang_up(
        current_principal(request), request.match_info["session_id"], kind="view"
    )
    return web.Response(status=204)


@api.post(
    "/api/cameras/{camera_id:\\d+}/talk",
    "Talk into the room: SDP offer with a send-only microphone in, 201 with the answer; "
    "409 names who holds the floor; ?takeover=1 for a chair or administrator",
    body=_OFFER_SCHEMA,
    body_type=_SDP,
    status=201,
    query=("takeover",),
)
async def open_talk(request: web.Request) -> web.StreamResponse:
    if (forwarded := await forward_if_remote(request, _camera_id(request))) is not None:
        return forwarded
    camera = _camera(request)
    offer = await _offer(request)
    takeover = request.query.get("takeover", "") in ("1", "true", "yes")
    answer = await _live(request).open_talk(
        current_principal(request), camera, offer, takeover=takeover
    )
    return _answer(request, "talk", answer.session_id, answer.sdp)


@api.delete(
    "/api/cameras/{camera_id:\\d+}/talk/{session_id}",
    "Hang up (release the talk floor)",
    status=204,
)
async def close_talk(request: web.Request) -> web.StreamResponse:
    if (forwarded := await forward_if_remote(request, _camera_id(request))) is not None:
        return forwarded
    await _live(request).hang_up(
        current_principal(request), request.match_info["session_id"], kind="talk"
    )
    return web.Response(status=204)


@api.get("/api/cameras/{camera_id:\\d+}/talk", "Who holds the camera's talk floor")
async def floor_state(request: web.Request) -> web.StreamResponse:
    if (forwarded := await forward_if_remote(request, _camera_id(request))) is not None:
        return forwarded
    camera = _camera(request)
    principal = current_principal(request)
    state = _manager(request).state(camera.camera_id)
    return web.json_response(
        {
            **_floor_json(
                _live(request), camera.camera_id, principal.actor, await _people(request)
            ),
            "talk": state.online and state.talk,
            "listen_only_reason": _listen_only(state),
            "can_talk": can(principal, Permission.CAMERA_TALK, camera.unit_code),
            "can_take_over": _live(request).can_take_over(principal, camera),
        }
    )


@api.get("/api/live/cameras", "Cameras in the caller's scope with live status for the wall")
async def wall_status(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    manager = _manager(request)
    views = await request.app[CAMERA_REGISTRY].cameras(principal)
    remote_ids = [v.camera.id for v in views if v.camera.id not in manager and v.camera.enabled]
    published = await request.app[CAMERA_LEASES].published_states(remote_ids) if remote_ids else {}
    listed = [(v.camera.id, v.camera.name, v.unit_code) for v in views]
    rooms = {v.camera.id: v.camera.room_id for v in views}
    cases = request.app.get(CASES)
    mediations = await cases.mediations_in_progress(principal) if cases is not None else {}
    # The case number for those who may read cases; "a mediation is on" for the others.
    show_number = principal.has(Permission.CASE_READ)
    known = {camera_id for camera_id, _, _ in listed}
    for camera_id in manager.camera_ids:  # running here without a row (embedded use, tests)
        spec = manager.spec(camera_id)
        if camera_id not in known and can(principal, Permission.CAMERA_VIEW, spec.unit_code):
            listed.append((camera_id, spec.name, spec.unit_code))
    cameras = []
    people = await _people(request)
    for camera_id, name, unit_code in listed:
        if camera_id in manager:
            entry = live_entry(request.app, manager.state(camera_id))
        elif camera_id in published and published[camera_id][0] is not None:
            entry = published[camera_id][0] or {}
        else:
            continue  # disabled, or not running anywhere yet
        floor = entry.get("floor") or {}
        cameras.append(
            {
                "id": camera_id,
                "name": name,
                "unit_code": unit_code,
                "online": entry.get("online", False),
                "reason": entry.get("reason", ""),
                "since": _iso(float(entry.get("since") or 0)),
                "talk": bool(entry.get("online") and entry.get("talk")),
                "listen_only_reason": _listen_only_of(entry),
                "picture_problem": (entry.get("picture") or {}).get("problem"),
                "viewers": entry.get("viewers", 0),
                # None: the process running the camera does not record, so nobody can say.
                "recording": entry.get("recording"),
                "talking": people.get(floor.get("name", ""), floor.get("name")),
                "talking_since": _iso(floor["since"]) if floor.get("since") else None,
                "talking_mine": bool(floor and floor.get("actor") == principal.actor),
                "mediation": (
                    None
                    if rooms.get(camera_id) not in mediations
                    else {"case_number": mediations[rooms[camera_id]] if show_number else None}
                ),
            }
        )
    return web.json_response({"cameras": cameras})


def live_entry(app: web.Application, state: CameraState) -> dict[str, Any]:
    """A running camera's state with what the wall shows (viewers, recording, the talk
    floor): served here, and published for the other processes of the deployment."""
    live = app.get(LIVE)
    recorder = app.get(RECORDINGS)
    camera_id = state.camera_id
    holder = live.floor(camera_id) if live is not None else None
    return {
        **state_json(state),
        "viewers": live.viewers(camera_id) if live is not None else 0,
        "recording": None if recorder is None else camera_id in recorder.recording_cameras(),
        "floor": None
        if holder is None
        else {"actor": holder.actor, "name": holder.name, "since": holder.since},
    }


def _listen_only_of(entry: dict[str, Any]) -> str | None:
    if entry.get("online") and entry.get("talk"):
        return None
    reason = entry.get("listen_only_reason")
    return str(reason) if reason else (None if entry.get("online") else "camera offline")


def _listen_only(state: CameraState) -> str | None:
    if state.online and state.talk:
        return None
    return state.listen_only_reason or (None if state.online else "camera offline")


async def _people(request: web.Request) -> dict[str, str]:
    """Accounts' display names: badges and notices name people, not accounts."""
    async with request.app[DB].read() as session:
        rows = await session.execute(select(User.username, User.display_name))
        return {str(u): str(d) for u, d in rows if d}


def _floor_json(
    live: LiveSessions, camera_id: int, actor: str, people: dict[str, str] | None = None
) -> dict[str, object]:
    holder = live.floor(camera_id)
    return {
        "talking": (people or {}).get(holder.name, holder.name) if holder else None,
        "talking_since": _iso(holder.since) if holder else None,
        "talking_mine": bool(holder and holder.actor == actor),
    }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
