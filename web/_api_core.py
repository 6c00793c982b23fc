"""JSON API of the ground floor: session, organisation, users, machine accounts, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from core import (
    ApiToken,
    AuditEntry,
    AuthenticationError,
    GatewayError,
    Permission,
    Role,
    RoomKind,
    User,
    authorize,
    in_scope,
    scope_prefix,
    verify_chain,
)
from core.models_json import room_json, staff_json, token_json, unit_json, user_json

from ._api import Api
from ._context import ACCOUNTS, DB, ORG, current_principal, current_session
from ._middleware import SESSION_COOKIE
from ._schema import path_id, query_int, read_json

__all__ = ["DEVICE_COOKIE", "api", "set_device_cookie", "set_session_cookie"]

api = Api("core")


def set_session_cookie(request: web.Request, response: web.StreamResponse, secret: str) -> None:
    from ._context import SETTINGS

    settings = request.app[SETTINGS]
    secure = settings.security.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=settings.tls if secure is None else secure,
        max_age=settings.security.session_ttl_minutes * 60,
    )


#: A browser where an account signed in before: exempt from that account's sign-in
#: throttle, so that strangers failing on purpose never keep its owner out (core._throttle).
DEVICE_COOKIE = "zz_device"


def set_device_cookie(request: web.Request, response: web.StreamResponse, username: str) -> None:
    from ._context import SETTINGS

    secure = request.app[SETTINGS].security.cookie_secure
    response.set_cookie(
        DEVICE_COOKIE,
        request.app[ACCOUNTS].device_token(username),
        httponly=True,
        samesite="Strict",
        path="/",
        secure=bool(request.app[SETTINGS].tls if secure is None else secure),
        max_age=365 * 86400,
    )


@dataclass(frozen=True)
class LoginBody:
    username: str = field(metadata={"max_length": 64})
    password: str = field(metadata={"max_length": 256})


@api.post(
    "/api/session",
    "Sign in; sets the session cookie and returns the CSRF token",
    body=LoginBody,
    public=True,
)
async def login(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, LoginBody)
    accounts, db = request.app[ACCOUNTS], request.app[DB]
    outcome = await accounts.sign_in(
        db,
        body.username,
        body.password,
        remote=request.remote or "",
        device=request.cookies.get(DEVICE_COOKIE),
    )
    if isinstance(outcome, GatewayError):
        raise outcome
    response = web.json_response(
        {"user": user_json(outcome.user), "csrf_token": outcome.session.csrf_token}
    )
    set_session_cookie(request, response, outcome.secret)
    set_device_cookie(request, response, outcome.user.username)
    return response


@api.delete("/api/session", "Sign out")
async def logout(request: web.Request) -> web.StreamResponse:
    secret = request.cookies.get(SESSION_COOKIE, "")
    async with request.app[DB].transaction() as session:
        await request.app[ACCOUNTS].close_session(session, secret)
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api.get("/api/me", "Who am I: the caller, its unit, role and permissions")
async def me(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    web_session = current_session(request)
    return web.json_response(
        {
            "kind": principal.kind,
            "name": principal.name,
            "unit": principal.unit_code,
            "level": principal.level.value,
            "role": principal.role.value,
            "permissions": sorted(p.value for p in Permission if principal.has(p)),
            "csrf_token": web_session.csrf_token if web_session else None,
        }
    )


@api.get("/api/units", "Units the caller may see (its own unit and its subtree)")
async def list_units(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].read() as session:
        units = await request.app[ORG].units(session, principal)
    return web.json_response({"units": [unit_json(u) for u in units]})


@dataclass(frozen=True)
class UnitBody:
    code: str = field(metadata={"max_length": 12, "description": "12-digit division code"})
    name: str = field(metadata={"max_length": 200})
    address: str = field(default="", metadata={"max_length": 300})
    phone: str = field(default="", metadata={"max_length": 40})


@api.post(
    "/api/units",
    "Create a township or village unit under one in your scope",
    body=UnitBody,
    status=201,
)
async def create_unit(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, UnitBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        unit = await request.app[ORG].create_unit(
            session,
            principal,
            code=body.code,
            name=body.name,
            address=body.address,
            phone=body.phone,
        )
    return web.json_response(unit_json(unit), status=201)


@api.get("/api/units/{code}", "One unit in your scope, with its rooms and staff board")
async def get_unit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    org = request.app[ORG]
    async with request.app[DB].read() as session:
        unit = await org.unit(session, principal, request.match_info["code"])
        rooms = [
            r for r in await org.rooms(session, principal, unit.code) if r.unit_code == unit.code
        ]
        staff = await org.staff(session, principal, unit.code)
    return web.json_response(
        {
            **unit_json(unit),
            "rooms": [room_json(r) for r in rooms],
            "staff": [staff_json(s) for s in staff],
        }
    )


@dataclass(frozen=True)
class StaffBody:
    name: str = field(metadata={"max_length": 100})
    title: str = field(metadata={"max_length": 100})
    phone: str = field(default="", metadata={"max_length": 40})


@api.post(
    "/api/units/{code}/staff",
    "Add a person to a centre's public staff board",
    body=StaffBody,
    status=201,
)
async def add_staff(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, StaffBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        member = await request.app[ORG].add_staff(
            session,
            principal,
            unit_code=request.match_info["code"],
            name=body.name,
            title=body.title,
            phone=body.phone,
        )
    return web.json_response(staff_json(member), status=201)


@api.get("/api/rooms", "Reception and mediation rooms the caller may see", query=("unit",))
async def list_rooms(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].read() as session:
        rooms = await request.app[ORG].rooms(session, principal, request.query.get("unit"))
    return web.json_response({"rooms": [room_json(r) for r in rooms]})


@dataclass(frozen=True)
class RoomBody:
    unit: str = field(metadata={"max_length": 12})
    kind: RoomKind
    name: str = field(metadata={"max_length": 200})


@api.post("/api/rooms", "Create a reception or mediation room", body=RoomBody, status=201)
async def create_room(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, RoomBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        room = await request.app[ORG].create_room(
            session, principal, unit_code=body.unit, kind=body.kind, name=body.name
        )
    return web.json_response(room_json(room), status=201)


@api.get("/api/rooms/{id:\\d+}", "One room in your scope")
async def get_room(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].read() as session:
        room = await request.app[ORG].room(session, principal, path_id(request, "id"))
    return web.json_response(room_json(room))


@api.get("/api/users", "Personal accounts of units in your scope (admins)")
async def list_users(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.USER_MANAGE, principal.unit_code)
    async with request.app[DB].read() as session:
        users = await session.scalars(
            select(User)
            .where(User.unit_code.startswith(scope_prefix(principal.unit_code)))
            .order_by(User.unit_code, User.username)
        )
        return web.json_response({"users": [user_json(u) for u in users]})


@dataclass(frozen=True)
class UserBody:
    username: str = field(metadata={"max_length": 64})
    password: str = field(metadata={"max_length": 256})
    unit: str = field(metadata={"max_length": 12})
    role: Role
    display_name: str = field(default="", metadata={"max_length": 100})


@api.post("/api/users", "Create a personal account (一人一密码)", body=UserBody, status=201)
async def create_user(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, UserBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        user = await request.app[ACCOUNTS].create_user(
            session,
            principal,
            username=body.username,
            password=body.password,
            unit_code=body.unit,
            role=body.role,
            display_name=body.display_name,
        )
    return web.json_response(user_json(user), status=201)


@dataclass(frozen=True)
class UserPatch:
    disabled: bool | None = None
    password: str | None = field(default=None, metadata={"max_length": 256})


@api.patch(
    "/api/users/{username}", "Disable/enable an account or set a new password", body=UserPatch
)
async def patch_user(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, UserPatch)
    principal = current_principal(request)
    accounts = request.app[ACCOUNTS]
    username = request.match_info["username"]
    async with request.app[DB].transaction() as session:
        if body.password is not None:
            await accounts.set_password(session, principal, username, body.password)
        if body.disabled is not None:
            await accounts.set_disabled(session, principal, username, body.disabled)
        user = await accounts.get_user(session, principal, username)
    return web.json_response(user_json(user))


@dataclass(frozen=True)
class PasswordBody:
    current: str = field(metadata={"max_length": 256})
    new: str = field(metadata={"max_length": 256})


@api.post("/api/me/password", "Change your own password", body=PasswordBody)
async def change_password(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, PasswordBody)
    principal = current_principal(request)
    if principal.kind != "user":
        raise AuthenticationError("machine accounts have no password", code="not_a_person")
    async with request.app[DB].transaction() as session:
        web_session = current_session(request)
        await request.app[ACCOUNTS].change_own_password(
            session,
            principal.id,
            body.current,
            body.new,
            keep_session=web_session.id_hash if web_session is not None else None,
        )
    return web.json_response({"changed": True})


@api.get("/api/tokens", "Machine accounts of units in your scope (admins)")
async def list_tokens(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.TOKEN_MANAGE, principal.unit_code)
    async with request.app[DB].read() as session:
        tokens = await session.scalars(
            select(ApiToken)
            .where(ApiToken.unit_code.startswith(scope_prefix(principal.unit_code)))
            .order_by(ApiToken.id)
        )
        return web.json_response({"tokens": [token_json(t) for t in tokens]})


@dataclass(frozen=True)
class TokenBody:
    name: str = field(metadata={"max_length": 100})
    unit: str = field(metadata={"max_length": 12})
    role: Role


@api.post(
    "/api/tokens",
    "Create a machine account (一机一账号); the token is shown once",
    body=TokenBody,
    status=201,
)
async def create_token(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, TokenBody)
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        new = await request.app[ACCOUNTS].create_token(
            session, principal, name=body.name, unit_code=body.unit, role=body.role
        )
    return web.json_response({**token_json(new.token), "token": new.secret}, status=201)


@api.delete("/api/tokens/{id:\\d+}", "Revoke a machine account")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DB].transaction() as session:
        token = await request.app[ACCOUNTS].revoke_token(session, principal, path_id(request, "id"))
    return web.json_response(token_json(token))


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "unit": entry.unit_code,
        "detail": entry.detail,
        "hash": entry.hash,
    }


@api.get("/api/audit", "Audit entries of your scope, newest first", query=("limit", "before"))
async def list_audit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.AUDIT_READ, principal.unit_code)
    limit = min(500, max(1, query_int(request, "limit", 100) or 1))
    before = query_int(request, "before")
    async with request.app[DB].read() as session:
        query = select(AuditEntry).where(in_scope(principal))
        if before is not None:
            query = query.where(AuditEntry.seq < before)
        rows = await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit))
        return web.json_response({"entries": [audit_json(e) for e in rows]})


@api.get("/api/audit/verify", "Re-hash the whole audit chain and report the first break")
async def verify_audit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.AUDIT_READ, principal.unit_code)
    async with request.app[DB].read() as session:
        _checked, broken = await verify_chain(session)
        # The whole chain is checked, but the counts are of the caller's scope: a township
        # learns nothing of the county's activity from the size of the log.
        total = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(in_scope(principal))
        )
    return web.json_response(
        {
            "entries": total,
            "checked": total,
            "ok": broken is None,
            "broken_at": broken.seq if broken else None,
            "reason": broken.reason if broken else None,
        }
    )
