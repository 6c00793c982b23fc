"""The upper platforms page (上级平台, GB/T 28181): each platform's registration state and
last error in an operator's words, the gateway's device ID and SIP port, every camera's
channel ID, and who watches which camera from which platform now.  Administrators add,
enable, disable and remove platforms here (the same service as the JSON API)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core import GatewayError, Permission, authorize
from uplink import PlatformChanges, PlatformConfig

from ._api_cameras import CAMERA_REGISTRY
from ._api_uplink import UPLINK, UPLINK_PLATFORMS, platform_json
from ._context import current_principal
from ._render import render_page

__all__ = ["STATE_KEYS", "routes"]

routes = web.RouteTableDef()

#: Registration states and error codes → the text key the page shows.
STATE_KEYS = {
    "registered": "Registered",
    "registering": "Registering",
    "failed": "Registration failed",
    "disabled": "Disabled",
}


@routes.get("/admin/uplink")
async def uplink_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.CAMERA_MANAGE, principal.unit_code)
    service = request.app[UPLINK]
    rows = await request.app[UPLINK_PLATFORMS].platforms(principal)
    platforms = [platform_json(request, row) for row in rows]
    cameras = await request.app[CAMERA_REGISTRY].cameras(principal)
    names = {v.camera.id: v.camera.name for v in cameras}
    for platform in platforms:
        for session in platform.get("sessions", []):
            session["camera_name"] = names.get(int(session["camera_id"]), "")
    host, port = service.sip_address
    context: dict[str, Any] = {
        "device_id": await service.resolve_device_id(),
        "sip_host": host,
        "sip_port": port,
        "platforms": platforms,
        "state_keys": STATE_KEYS,
        "cameras": cameras,
        "error": request.query.get("error"),
        "message": request.query.get("message"),
    }
    return render_page(request, "uplink.html", context)


def _int(form: Any, name: str, default: int) -> int:
    text = str(form.get(name, "") or "").strip()
    return int(text) if text.isdigit() else default


@routes.post("/admin/uplink")
async def uplink_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    config = PlatformConfig(
        id=0,
        name=str(form.get("name", "")),
        unit_code="",
        server_id=str(form.get("server_id", "")),
        domain=str(form.get("domain", "")),
        host=str(form.get("host", "")),
        port=_int(form, "port", 5060),
        transport=str(form.get("transport", "udp")),
        username=str(form.get("username", "")),
        password=str(form.get("password", "")),
        expires=_int(form, "expires", 3600),
        keepalive_interval=_int(form, "keepalive_interval", 60),
        keepalive_misses=_int(form, "keepalive_misses", 3),
        charset=str(form.get("charset", "GB2312")),
        version=str(form.get("version", "2016")),
    )
    try:
        await request.app[UPLINK_PLATFORMS].create(current_principal(request), config)
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"/admin/uplink?error={exc.code}") from None
    raise web.HTTPSeeOther("/admin/uplink?message=saved")


@routes.post("/admin/uplink/{id:\\d+}/{action:enable|disable|delete}")
async def uplink_action(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    platform_id = int(request.match_info["id"])
    store = request.app[UPLINK_PLATFORMS]
    action = request.match_info["action"]
    try:
        if action == "delete":
            await store.delete(principal, platform_id)
        else:
            await store.update(principal, platform_id, PlatformChanges(enabled=action == "enable"))
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"/admin/uplink?error={exc.code}") from None
    raise web.HTTPSeeOther("/admin/uplink?message=saved")
