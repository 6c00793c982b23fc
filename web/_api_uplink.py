"""JSON API of the GB/T 28181 uplink: upper platforms (administrators of a unit manage
the platforms that see their unit's cameras) and the gateway's own SIP identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from core import InvalidInputError, Permission, PermissionDeniedError, authorize
from uplink import (
    MediaOffer,
    MediaRelays,
    PlatformChanges,
    PlatformConfig,
    PlatformStore,
    UplinkPlatform,
    UplinkService,
)

from ._api import Api
from ._context import current_principal
from ._schema import path_id, read_json

__all__ = ["UPLINK", "UPLINK_PLATFORMS", "UPLINK_RELAYS", "api", "platform_json", "relay_routes"]

#: The upper platforms' rows (every process).
UPLINK_PLATFORMS = web.AppKey("uplink_platforms", PlatformStore)
#: The SIP side: registrations, sessions (the process that runs the SIP endpoint).
UPLINK = web.AppKey("uplink", UplinkService)

#: Live media this process sends for the SIP process (several gateway processes).
UPLINK_RELAYS = web.AppKey("uplink_relays", MediaRelays)

api = Api("uplink")
#: Internal: the SIP process asks the camera's owner to send a live session's media.
#: Only the gateway itself may call these (a signed, forwarded system request).
relay_routes = web.RouteTableDef()

_ID = {"max_length": 20, "description": "20-digit GB/T 28181 ID"}


@dataclass(frozen=True)
class PlatformBody:
    name: str = field(metadata={"max_length": 200})
    server_id: str = field(metadata={**_ID, "description": "the platform's SIP server ID"})
    host: str = field(metadata={"max_length": 255, "description": "the platform's IP or name"})
    password: str = field(metadata={"max_length": 200, "description": "SIP digest password"})
    domain: str = field(
        default="", metadata={"max_length": 10, "description": "10-digit SIP domain"}
    )
    port: int = 5060
    transport: Literal["udp", "tcp"] = "udp"
    username: str = field(
        default="", metadata={"max_length": 100, "description": "default: the device ID"}
    )
    expires: int = 3600
    keepalive_interval: int = 60
    keepalive_misses: int = 3
    charset: Literal["GB2312", "GB18030", "UTF-8"] = "GB2312"
    version: Literal["2016", "2022"] = "2016"
    cameras: list[int] | None = field(
        default=None, metadata={"description": "camera ids it sees; default all in your scope"}
    )
    enabled: bool = True


@dataclass(frozen=True)
class PlatformPatch:
    name: str | None = field(default=None, metadata={"max_length": 200})
    server_id: str | None = field(default=None, metadata=_ID)
    domain: str | None = field(default=None, metadata={"max_length": 10})
    host: str | None = field(default=None, metadata={"max_length": 255})
    port: int | None = None
    transport: Literal["udp", "tcp"] | None = None
    username: str | None = field(default=None, metadata={"max_length": 100})
    password: str | None = field(default=None, metadata={"max_length": 200})
    expires: int | None = None
    keepalive_interval: int | None = None
    keepalive_misses: int | None = None
    charset: Literal["GB2312", "GB18030", "UTF-8"] | None = None
    version: Literal["2016", "2022"] | None = None
    cameras: list[int] | None = None
    all_cameras: bool | None = field(
        default=None, metadata={"description": "true: see every camera of the unit again"}
    )
    enabled: bool | None = None


def _state(request: web.Request, row: UplinkPlatform) -> dict[str, Any]:
    service = request.app.get(UPLINK)
    live = service.status(row.id) if service is not None else None
    if live is not None:
        return live
    if row.state is not None:  # published by the process that runs the SIP endpoint
        return {**row.state, "as_of": row.state_at.isoformat() if row.state_at else None}
    return {
        "state": "disabled" if not row.enabled else "registering",
        "last_error": None,
        "registered_since": None,
        "last_keepalive_ok": None,
        "sessions": [],
    }


def platform_json(request: web.Request, row: UplinkPlatform) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "unit": row.unit_code,
        "server_id": row.server_id,
        "domain": row.domain,
        "host": row.host,
        "port": row.port,
        "transport": row.transport,
        "username": row.username,
        "expires": row.expires,
        "keepalive_interval": row.keepalive_interval,
        "keepalive_misses": row.keepalive_misses,
        "charset": row.charset,
        "version": row.version,
        "cameras": row.cameras,
        "enabled": row.enabled,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        **_state(request, row),
    }


def _platform_id(request: web.Request) -> int:
    return path_id(request, "id")


@api.get(
    "/api/uplink",
    "The gateway's GB/T 28181 identity (device ID, SIP address) and its upper platforms",
)
async def uplink_overview(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.CAMERA_MANAGE, principal.unit_code)
    service = request.app[UPLINK]
    rows = await request.app[UPLINK_PLATFORMS].platforms(principal)
    host, port = service.sip_address
    return web.json_response(
        {
            "device_id": await service.resolve_device_id(),
            "sip": {"host": host, "port": port},
            "platforms": [platform_json(request, r) for r in rows],
        }
    )


@api.get("/api/uplink/platforms", "Upper platforms in your scope with their registration state")
async def list_platforms(request: web.Request) -> web.StreamResponse:
    rows = await request.app[UPLINK_PLATFORMS].platforms(current_principal(request))
    return web.json_response({"platforms": [platform_json(request, r) for r in rows]})


@api.post(
    "/api/uplink/platforms",
    "Add an upper platform (GB/T 28181): the gateway registers to it at once",
    body=PlatformBody,
    status=201,
)
async def create_platform(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, PlatformBody)
    config = PlatformConfig(
        id=0,
        name=body.name,
        unit_code="",
        server_id=body.server_id,
        domain=body.domain,
        host=body.host,
        port=body.port,
        transport=body.transport,
        username=body.username,
        password=body.password,
        expires=body.expires,
        keepalive_interval=body.keepalive_interval,
        keepalive_misses=body.keepalive_misses,
        charset=body.charset,
        version=body.version,
        cameras=tuple(body.cameras) if body.cameras is not None else None,
        enabled=body.enabled,
    )
    row = await request.app[UPLINK_PLATFORMS].create(current_principal(request), config)
    return web.json_response(platform_json(request, row), status=201)


@api.get("/api/uplink/platforms/{id}", "One upper platform with its registration state")
async def get_platform(request: web.Request) -> web.StreamResponse:
    row = await request.app[UPLINK_PLATFORMS].get(current_principal(request), _platform_id(request))
    return web.json_response(platform_json(request, row))


@api.patch(
    "/api/uplink/platforms/{id}",
    "Change an upper platform; the registration restarts with the new settings",
    body=PlatformPatch,
)
async def patch_platform(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, PlatformPatch)
    changes = PlatformChanges(
        **{k: v for k, v in body.__dict__.items() if k != "cameras"},
        cameras=body.cameras,
    )
    row = await request.app[UPLINK_PLATFORMS].update(
        current_principal(request), _platform_id(request), changes
    )
    return web.json_response(platform_json(request, row))


@api.delete(
    "/api/uplink/platforms/{id}",
    "Remove an upper platform (the gateway unregisters from it)",
)
async def delete_platform(request: web.Request) -> web.StreamResponse:
    platform_id = _platform_id(request)
    await request.app[UPLINK_PLATFORMS].delete(current_principal(request), platform_id)
    return web.json_response({"deleted": platform_id})


# ----------------------------------------------------------- internal: media relays
def _relays(request: web.Request) -> MediaRelays:
    if current_principal(request).kind != "system":
        raise PermissionDeniedError("media relays are for the gateway's own processes")
    return request.app[UPLINK_RELAYS]


@relay_routes.post("/api/uplink/relays")
async def open_relay(request: web.Request) -> web.StreamResponse:
    relays = _relays(request)
    data = await request.json()
    try:
        offer = MediaOffer(**data["offer"])
        camera_id = int(data["camera_id"])
        opened = await relays.open(camera_id, offer)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"bad media relay request: {exc}") from None
    except LookupError as exc:
        return web.json_response({"error": "not_here", "message": str(exc)}, status=409)
    return web.json_response(opened, status=201)


@relay_routes.post("/api/uplink/relays/{id}/start")
async def start_relay(request: web.Request) -> web.StreamResponse:
    try:
        await _relays(request).start(request.match_info["id"])
    except LookupError as exc:
        return web.json_response({"error": "not_found", "message": str(exc)}, status=404)
    return web.json_response({"started": True})


@relay_routes.get("/api/uplink/relays/{id}")
async def relay_status(request: web.Request) -> web.StreamResponse:
    return web.json_response(_relays(request).status(request.match_info["id"]))


@relay_routes.delete("/api/uplink/relays/{id}")
async def stop_relay(request: web.Request) -> web.StreamResponse:
    await _relays(request).stop(request.match_info["id"])
    return web.json_response({"stopped": True})
