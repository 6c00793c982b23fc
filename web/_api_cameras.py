"""JSON API of the cameras: registration, list with live state, snapshot, discovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from camera_registry import (
    CameraChanges,
    CameraLeases,
    CameraManager,
    CameraRegistration,
    CameraRegistry,
    CameraState,
    CameraView,
    DiscoveredDevice,
    OnvifAddress,
)
from core import InvalidInputError, validate_code

from ._api import Api
from ._cluster import forward_if_remote
from ._context import current_principal
from ._schema import path_id, read_json

__all__ = ["CAMERAS", "CAMERA_LEASES", "CAMERA_REGISTRY", "api", "camera_json", "state_json"]

#: The running cameras (hubs, ingests, states) of this process, by camera id.
CAMERAS = web.AppKey("cameras", CameraManager)
#: Registration, changes and scoped reads of the cameras table.
CAMERA_REGISTRY = web.AppKey("camera_registry", CameraRegistry)
#: Which process runs which camera (several gateway processes on one database).
CAMERA_LEASES = web.AppKey("camera_leases", CameraLeases)

api = Api("cameras")


@dataclass(frozen=True)
class OnvifBody:
    host: str = field(metadata={"max_length": 255, "description": "camera IP or host name"})
    username: str = field(metadata={"max_length": 100, "description": "the camera's own account"})
    password: str = field(metadata={"max_length": 200})
    port: int = field(default=80, metadata={"description": "ONVIF HTTP port"})


@dataclass(frozen=True)
class RegisterBody:
    room_id: int
    name: str | None = field(default=None, metadata={"max_length": 200})
    onvif: OnvifBody | None = None
    rtsp_url: str | None = field(
        default=None, metadata={"max_length": 500, "description": "for cameras without ONVIF"}
    )
    username: str | None = field(default=None, metadata={"max_length": 100})
    password: str | None = field(default=None, metadata={"max_length": 200})


@dataclass(frozen=True)
class PatchBody:
    name: str | None = field(default=None, metadata={"max_length": 200})
    room_id: int | None = None
    enabled: bool | None = None
    username: str | None = field(default=None, metadata={"max_length": 100})
    password: str | None = field(default=None, metadata={"max_length": 200})
    rtsp_url: str | None = field(default=None, metadata={"max_length": 500})
    gb_id: str | None = field(
        default=None,
        metadata={
            "max_length": 20,
            "description": "GB/T 28181 channel ID the upper platforms see (20 digits, type 131/132)",
        },
    )


@dataclass(frozen=True)
class DiscoverBody:
    host: str | None = field(
        default=None,
        metadata={
            "max_length": 255,
            "description": "probe this host by unicast (default: multicast)",
        },
    )
    port: int = field(default=3702, metadata={"description": "WS-Discovery port"})
    wait: float = field(default=2.0, metadata={"description": "seconds to collect replies (≤10)"})


def state_json(state: CameraState) -> dict[str, Any]:
    stats, ingest = state.stats, state.ingest
    picture = state.picture
    return {
        "status": state.status,
        "online": state.online,
        "reason": state.reason,
        "since": state.since,
        "retry_in": state.retry_in,
        "talk": state.talk,
        "listen_only_reason": state.listen_only_reason,
        # counters since the camera was added; rates over the last ``window`` seconds
        "window": stats.window,
        "fps": round(stats.fps, 2),
        "bitrate": round(stats.bitrate),
        "frames": stats.frames,
        "audio_frames": stats.audio_frames,
        "keyframes": stats.keyframes,
        "bytes": stats.bytes,
        "late_frames": stats.late_frames,
        "packets": ingest.packets,
        "packets_lost": ingest.packets_lost,
        "gaps": ingest.gaps,
        "broken_frames": ingest.broken_frames,
        "reconnects": ingest.reconnects,
        "last_gap": None
        if ingest.last_gap is None
        else {
            "at": ingest.last_gap.at,
            "packets": ingest.last_gap.packets,
            "reason": ingest.last_gap.reason,
        },
        "subscribers": stats.subscribers,
        "cutbacks": stats.cutbacks,
        "picture": None
        if picture is None
        else {"problem": picture.problem, "detail": picture.detail, "at": picture.at},
        "clock_warning": state.clock_warning,
    }


def camera_json(view: CameraView, state: dict[str, Any] | None) -> dict[str, Any]:
    camera, room = view.camera, view.room
    return {
        "id": camera.id,
        "name": camera.name,
        "room": {"id": room.id, "name": room.name, "kind": room.kind},
        "unit": room.unit_code,
        "source": camera.source,
        "onvif": {"host": camera.onvif_host, "port": camera.onvif_port}
        if camera.onvif_host
        else None,
        "manufacturer": camera.manufacturer,
        "model": camera.model,
        "serial": camera.serial,
        "firmware": camera.firmware,
        "profiles": camera.profiles,
        "main_profile": camera.main_profile,
        "rtsp_url": camera.rtsp_url,
        "sub_profile": camera.sub_profile,
        "sub_rtsp_url": camera.sub_rtsp_url,
        "snapshot_uri": camera.snapshot_uri,
        "audio_outputs": [t for t in camera.audio_outputs.split(",") if t],
        "audio_decoders": [c for c in camera.audio_decoders.split(",") if c],
        "backchannel_codecs": [c for c in camera.backchannel_codecs.split(",") if c],
        "talk": camera.talk,
        "talk_reason": camera.talk_reason,
        "clock_offset": camera.clock_offset,
        "clock_checked_at": camera.clock_checked_at.isoformat()
        if camera.clock_checked_at
        else None,
        "enabled": camera.enabled,
        "gb_id": camera.gb_id,
        "created_at": camera.created_at.isoformat(),
        "updated_at": camera.updated_at.isoformat(),
        "state": state,
    }


def discovered_json(device: DiscoveredDevice) -> dict[str, Any]:
    return {
        "endpoint_reference": device.endpoint_reference,
        "name": device.name,
        "hardware": device.hardware,
        "host": device.host,
        "port": device.port,
        "xaddrs": list(device.xaddrs),
        "scopes": list(device.scopes),
    }


async def _states(request: web.Request, camera_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Live state of each camera: this process's own, else what its owner last published
    (``owner``: the process that runs it; ``as_of``: when it published)."""
    manager = request.app[CAMERAS]
    leases = request.app[CAMERA_LEASES]
    states = {
        c: {**state_json(manager.state(c)), "owner": leases.node_id, "as_of": None}
        for c in camera_ids
        if c in manager
    }
    remote = [c for c in camera_ids if c not in states]
    if remote:
        for camera_id, (state, node, as_of) in (await leases.published_states(remote)).items():
            if state is not None:
                states[camera_id] = {**state, "owner": node, "as_of": as_of}
    return states


async def _state(request: web.Request, camera_id: int) -> dict[str, Any] | None:
    return (await _states(request, [camera_id])).get(camera_id)


def _camera_id(request: web.Request) -> int:
    return path_id(request, "id")


@api.post(
    "/api/cameras",
    "Register a camera in a room: by ONVIF address and its own account, or by RTSP URL",
    body=RegisterBody,
    status=201,
)
async def register_camera(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, RegisterBody)
    onvif = (
        OnvifAddress(body.onvif.host, body.onvif.port, body.onvif.username, body.onvif.password)
        if body.onvif is not None
        else None
    )
    if onvif is not None and (body.username is not None or body.password is not None):
        raise InvalidInputError("with onvif, put username and password inside the onvif object")
    registration = CameraRegistration(
        room_id=body.room_id,
        name=body.name,
        onvif=onvif,
        rtsp_url=body.rtsp_url,
        username=body.username,
        password=body.password,
    )
    view = await request.app[CAMERA_REGISTRY].register(current_principal(request), registration)
    return web.json_response(camera_json(view, await _state(request, view.camera.id)), status=201)


@api.get("/api/cameras", "Cameras in your scope with their live state", query=("unit",))
async def list_cameras(request: web.Request) -> web.StreamResponse:
    unit = request.query.get("unit") or None
    if unit is not None:
        try:
            validate_code(unit)
        except ValueError as exc:
            raise InvalidInputError(str(exc), code="invalid_input") from None
    views = await request.app[CAMERA_REGISTRY].cameras(current_principal(request), unit_code=unit)
    states = await _states(request, [v.camera.id for v in views])
    return web.json_response({"cameras": [camera_json(v, states.get(v.camera.id)) for v in views]})


@api.get("/api/cameras/{id}", "One camera with its live state")
async def get_camera(request: web.Request) -> web.StreamResponse:
    camera_id = _camera_id(request)
    view = await request.app[CAMERA_REGISTRY].get(current_principal(request), camera_id)
    return web.json_response(camera_json(view, await _state(request, camera_id)))


@api.patch(
    "/api/cameras/{id}",
    "Rename, move, enable/disable a camera or change its account (verified first)",
    body=PatchBody,
)
async def patch_camera(request: web.Request) -> web.StreamResponse:
    camera_id = _camera_id(request)
    body = await read_json(request, PatchBody)
    changes = CameraChanges(
        name=body.name,
        room_id=body.room_id,
        enabled=body.enabled,
        username=body.username,
        password=body.password,
        rtsp_url=body.rtsp_url,
        gb_id=body.gb_id,
    )
    view = await request.app[CAMERA_REGISTRY].update(current_principal(request), camera_id, changes)
    return web.json_response(camera_json(view, await _state(request, camera_id)))


@api.delete("/api/cameras/{id}", "Remove a camera (its stream stops for every viewer)")
async def delete_camera(request: web.Request) -> web.StreamResponse:
    camera_id = _camera_id(request)
    await request.app[CAMERA_REGISTRY].delete(current_principal(request), camera_id)
    return web.json_response({"deleted": camera_id})


@api.get(
    "/api/cameras/{id}/snapshot",
    "A JPEG picture: the camera's snapshot, or a decoded keyframe; ?size=thumb for 320×180",
    query=("size",),
)
async def camera_snapshot(request: web.Request) -> web.StreamResponse:
    camera_id = _camera_id(request)
    if (forwarded := await forward_if_remote(request, camera_id)) is not None:
        return forwarded  # the process running the camera has its keyframes
    thumbnail = request.query.get("size") == "thumb"
    jpeg = await request.app[CAMERA_REGISTRY].snapshot(
        current_principal(request), camera_id, thumbnail=thumbnail
    )
    return web.Response(
        body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store, private"}
    )


@api.post(
    "/api/cameras/discover",
    "WS-Discovery scan: ONVIF cameras on the network that are not registered yet",
    body=DiscoverBody,
)
async def discover_cameras(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, DiscoverBody) if request.can_read_body else DiscoverBody()
    if not 0.1 <= body.wait <= 10:
        raise InvalidInputError("wait must be between 0.1 and 10 seconds")
    if not 1 <= body.port <= 65535:
        raise InvalidInputError("port must be between 1 and 65535")
    targets = [(body.host, body.port)] if body.host else None
    devices = await request.app[CAMERA_REGISTRY].discover(
        current_principal(request), targets=targets, wait=body.wait
    )
    return web.json_response({"devices": [discovered_json(d) for d in devices]})
