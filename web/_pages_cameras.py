"""The camera list page (摄像机): status badges, thumbnails, registration, discovery.

Server-rendered; ``/static/cameras.js`` refreshes the badges from ``/api/cameras`` every
few seconds so an operator sees a camera drop or come back without reloading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from camera_registry import CameraRegistration, CameraState, DiscoveredDevice, OnvifAddress
from core import GatewayError, InvalidInputError, Permission, authorize

from ._api_cameras import CAMERA_REGISTRY, CAMERAS
from ._context import DB, ORG, current_principal
from ._render import render_page

__all__ = ["reason_label", "routes"]

routes = web.RouteTableDef()

#: Offline/online reasons from the ingest (English, for logs) → a short UI label key.
_REASONS: tuple[tuple[str, str], ...] = (
    ("connected", "reason.connected"),
    ("starting", "reason.starting"),
    ("wrong password", "reason.wrong_password"),
    ("camera requires a user name", "reason.wrong_password"),
    ("connection refused", "reason.refused"),
    ("cannot connect", "reason.unreachable"),
    ("stalled", "reason.stalled"),
    ("timeout", "reason.timeout"),
    ("camera rebooted", "reason.rebooted"),
    ("camera closed the connection", "reason.closed"),
    ("session closed", "reason.closed"),
    ("malformed", "reason.malformed"),
    ("camera answered", "reason.refused_stream"),
)


def reason_label(reason: str) -> str:
    """The i18n key of a state reason (pure); ``reason.other`` when unknown."""
    lowered = reason.lower()
    for prefix, key in _REASONS:
        if lowered.startswith(prefix):
            return key
    return "reason.other"


@dataclass(frozen=True, slots=True)
class Row:
    """One camera as the template shows it."""

    id: int
    name: str
    room: str
    unit: str
    source: str
    address: str
    model: str
    enabled: bool
    state: CameraState | None

    @property
    def reason_key(self) -> str:
        return reason_label(self.state.reason) if self.state is not None else "reason.disabled"


async def _context(
    request: web.Request, *, devices: list[DiscoveredDevice] | None = None
) -> dict[str, Any]:
    principal = current_principal(request)
    authorize(principal, Permission.CAMERA_VIEW, principal.unit_code)
    views = await request.app[CAMERA_REGISTRY].cameras(principal)
    manager = request.app[CAMERAS]
    rows = [
        Row(
            id=v.camera.id,
            name=v.camera.name,
            room=v.room.name,
            unit=v.unit_code,
            source=v.camera.source,
            address=f"{v.camera.onvif_host}:{v.camera.onvif_port}"
            if v.camera.onvif_host
            else v.camera.rtsp_url,
            model=" ".join(x for x in (v.camera.manufacturer, v.camera.model) if x),
            enabled=v.camera.enabled,
            state=manager.state(v.camera.id) if v.camera.id in manager else None,
        )
        for v in views
    ]
    can_manage = principal.has(Permission.CAMERA_MANAGE)
    rooms = []
    if can_manage:
        async with request.app[DB].transaction() as session:
            units = {u.code: u.name for u in await request.app[ORG].units(session, principal)}
            rooms = [
                (room.id, f"{units.get(room.unit_code, room.unit_code)} · {room.name}")
                for room in await request.app[ORG].rooms(session, principal)
            ]
    return {
        "rows": rows,
        "rooms": rooms,
        "can_manage": can_manage,
        "devices": devices,
        "message": request.query.get("message"),
        "error": None,
        "error_detail": None,
    }


@routes.get("/cameras")
async def cameras_page(request: web.Request) -> web.StreamResponse:
    return render_page(request, "cameras.html", await _context(request))


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _registration(form: Any) -> CameraRegistration:
    room = _field(form, "room_id")
    if not room.isdigit():
        raise InvalidInputError("choose the room the camera is in", code="invalid_input")
    name = _field(form, "name") or None
    if _field(form, "kind") == "rtsp":
        return CameraRegistration(
            room_id=int(room),
            name=name,
            rtsp_url=_field(form, "rtsp_url"),
            username=_field(form, "username") or None,
            password=str(form.get("password", "")) or None,
        )
    port = _field(form, "port") or "80"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInputError("the ONVIF port must be a number from 1 to 65535")
    return CameraRegistration(
        room_id=int(room),
        name=name,
        onvif=OnvifAddress(
            _field(form, "host"), int(port), _field(form, "username"), str(form.get("password", ""))
        ),
    )


@routes.post("/cameras")
async def register_from_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)
    try:
        await request.app[CAMERA_REGISTRY].register(principal, _registration(form))
    except GatewayError as exc:
        context = await _context(request)
        context.update(error=exc.code, error_detail=exc.message)
        status = 400 if exc.code != "scope_forbidden" else 403
        return render_page(request, "cameras.html", context, status=status)
    raise web.HTTPSeeOther("/cameras?message=registered")


@routes.post("/cameras/discover")
async def discover_from_form(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    try:
        devices = await request.app[CAMERA_REGISTRY].discover(principal)
    except (GatewayError, OSError) as exc:
        context = await _context(request)
        code = exc.code if isinstance(exc, GatewayError) else "discovery_failed"
        context.update(error=code, error_detail=str(exc))
        return render_page(request, "cameras.html", context, status=503)
    return render_page(request, "cameras.html", await _context(request, devices=devices))
