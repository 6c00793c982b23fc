"""Restream accounts over HTTP: the JSON API and the admin page (一机一账号 for RTSP pulls).

``GET /api/restream`` says where the RTSP server listens and which pulls run now (of
cameras in the caller's scope); ``/api/restream/accounts`` creates (the password is shown
once), lists and revokes the accounts of platforms and NVRs.  Revoking ends the
account's running pulls at once in this process (and within seconds in the others).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core import GatewayError, Permission, Principal, authorize, contains
from uplink import RestreamAccount, RestreamAccounts, RestreamServer

from ._api import Api
from ._context import DB, ORG, SETTINGS, current_principal
from ._render import render_page
from ._schema import read_json

__all__ = ["RESTREAM", "RESTREAM_ACCOUNTS", "api", "routes"]

#: The RTSP restream server of this process (absent when ``[restream] enabled = false``).
RESTREAM = web.AppKey("restream", RestreamServer)
RESTREAM_ACCOUNTS = web.AppKey("restream_accounts", RestreamAccounts)

api = Api("restream")
routes = web.RouteTableDef()


def account_json(account: RestreamAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "unit": account.unit_code,
        "note": account.note,
        "created_by": account.created_by,
        "created_at": account.created_at.isoformat(),
        "revoked": account.revoked_at is not None,
        "last_used_at": account.last_used_at.isoformat() if account.last_used_at else None,
    }


def _port(request: web.Request) -> int:
    server = request.app.get(RESTREAM)
    return server.port if server is not None else request.app[SETTINGS].restream.port


def _urls(request: web.Request, camera_id: str = "{id}") -> dict[str, str]:
    host = request.url.host or "gateway"
    base = f"rtsp://{host}:{_port(request)}/cameras/{camera_id}"
    return {"main": base, "sub": f"{base}/sub"}


def _pulls(request: web.Request, principal: Principal) -> list[dict[str, Any]]:
    server = request.app.get(RESTREAM)
    if server is None:
        return []
    now = time.monotonic()
    return [
        {
            "session": s.id[:8],
            "account": s.credential.name,
            "camera": s.path.camera_id,
            "stream": s.lease.stream,
            "transport": s.transport_name,
            "client": s.peer_host,
            "playing": s.playing,
            "seconds": round(now - s.started_at, 1) if s.started_at else 0.0,
            "bytes": s.bytes_sent,
        }
        for s in list(server.sessions.values())
        if contains(principal.unit_code, s.unit_code)
    ]


@api.get("/api/restream", "The RTSP restream: where it listens and the pulls running now")
async def restream_status(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.CAMERA_VIEW, principal.unit_code)
    server = request.app.get(RESTREAM)
    return web.json_response(
        {
            "enabled": server is not None,
            "listening": server is not None and server.listening,
            "port": _port(request),
            "urls": _urls(request),
            "pulls": _pulls(request, principal),
        }
    )


@api.get("/api/restream/accounts", "Restream accounts of units in your scope (admins)")
async def list_accounts(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].read() as session:
        rows = await request.app[RESTREAM_ACCOUNTS].list(session, principal)
    return web.json_response({"accounts": [account_json(a) for a in rows]})


@dataclass(frozen=True)
class AccountBody:
    name: str = field(metadata={"max_length": 64})
    unit: str = field(metadata={"max_length": 12})
    note: str = field(default="", metadata={"max_length": 200})


@api.post(
    "/api/restream/accounts",
    "Create a restream account (一机一账号) for one platform or NVR; the password is shown once",
    body=AccountBody,
    status=201,
)
async def create_account(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, AccountBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        new = await request.app[RESTREAM_ACCOUNTS].create(
            session, principal, name=body.name, unit_code=body.unit, note=body.note
        )
    return web.json_response(
        {**account_json(new.account), "password": new.password, "urls": _urls(request)},
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@api.delete("/api/restream/accounts/{id:\\d+}", "Revoke a restream account; its pulls end")
async def revoke_account(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    account = await _revoke(request, principal, int(request.match_info["id"]))
    return web.json_response(account_json(account))


async def _revoke(request: web.Request, principal: Principal, account_id: int) -> RestreamAccount:
    async with request.app[DB].transaction() as session:
        account = await request.app[RESTREAM_ACCOUNTS].revoke(session, principal, account_id)
    server = request.app.get(RESTREAM)
    if server is not None:
        await server.disconnect_account(account.id, "the restream account was revoked")
    return account


# ------------------------------------------------------------------------------ pages
async def _page(
    request: web.Request, *, password: str | None = None, created: str | None = None
) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].read() as session:
        accounts = await request.app[RESTREAM_ACCOUNTS].list(session, principal)
        units = await request.app[ORG].units(session, principal)
    server = request.app.get(RESTREAM)
    response = render_page(
        request,
        "restream.html",
        {
            "accounts": accounts,
            "units": units,
            "password": password,
            "created": created,
            "urls": _urls(request),
            "listening": server is not None and server.listening,
            "pulls": _pulls(request, principal),
            "error": request.query.get("error"),
            "message": request.query.get("message"),
        },
    )
    if password is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/admin/restream")
async def restream_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/admin/restream")
async def restream_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)
    try:
        async with request.app[DB].transaction() as session:
            new = await request.app[RESTREAM_ACCOUNTS].create(
                session,
                principal,
                name=str(form.get("name", "")),
                unit_code=str(form.get("unit", "")),
                note=str(form.get("note", "")),
            )
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"/admin/restream?error={exc.code}") from None
    # The password is rendered once, in this response, and never again.
    return await _page(request, password=new.password, created=new.account.name)


@routes.post("/admin/restream/{id:\\d+}/revoke")
async def restream_revoke(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    try:
        await _revoke(request, principal, int(request.match_info["id"]))
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"/admin/restream?error={exc.code}") from None
    raise web.HTTPSeeOther("/admin/restream?message=revoked")
