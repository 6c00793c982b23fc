"""Server-rendered pages (zh-CN by default): sign-in, dashboard, organisation, admin, audit."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from urllib.parse import urlparse

from aiohttp import web
from aiohttp.web_request import FileField
from sqlalchemy import select

from core import (
    ApiToken,
    AuditEntry,
    GatewayError,
    InvalidInputError,
    Level,
    Permission,
    Principal,
    Role,
    RoomKind,
    UnitCsvError,
    User,
    authorize,
    build_tree,
    decode_units_csv,
    in_scope,
    level_of,
    parse_units_csv,
    scope_prefix,
)
from meetings import OccurrenceView, beijing_date

from ._api_core import DEVICE_COOKIE, set_device_cookie, set_session_cookie
from ._api_meetings import MEETINGS
from ._audit_words import AuditLine
from ._context import ACCOUNTS, DB, ORG, PRINCIPAL_KEY, current_principal, current_session
from ._i18n import language_of
from ._middleware import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from ._pages_audit import audit_lines_for
from ._render import render_page
from ._schema import path_id

__all__ = ["routes"]

routes = web.RouteTableDef()


def _safe_next(target: str) -> str:
    """Only same-site paths: never redirect a signed-in user to another host."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render_page(
        request,
        "login.html",
        {"login_csrf": token, "next": _safe_next(request.query.get("next", "/")), "error": None},
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login")
    return response


@routes.post("/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "/")))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent_token = str(form.get("_csrf", ""))
    error: GatewayError | None = None
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(), sent_token.encode()):
        error = GatewayError("the sign-in form expired; try again", code="csrf")
    else:
        outcome = await request.app[ACCOUNTS].sign_in(
            request.app[DB],
            username,
            password,
            remote=request.remote or "",
            device=request.cookies.get(DEVICE_COOKIE),
        )
        if isinstance(outcome, GatewayError):
            error = outcome
        else:
            secret, signed_in = outcome.secret, outcome.user.username
    if error is not None:
        token = secrets.token_urlsafe(24)
        response = render_page(
            request,
            "login.html",
            {"login_csrf": token, "next": next_path, "error": error, "username": username},
            status=403 if error.code == "csrf" else 429 if error.code == "login_throttled" else 401,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login"
        )
        return response
    response = web.HTTPSeeOther(next_path)
    set_session_cookie(request, response, secret)
    set_device_cookie(request, response, signed_in)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].transaction() as session:
        await request.app[ACCOUNTS].close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/lang/{lang}")
async def switch_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    response = web.HTTPSeeOther(_safe_next(request.query.get("next", "/")))
    if lang in ("zh-CN", "en"):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", path="/")
    raise response


async def upcoming_meetings(app: web.Application, principal: Principal) -> list[OccurrenceView]:
    """Today's meetings and the next ones (a week ahead, at most six) for the dashboard."""
    service = app.get(MEETINGS)
    if service is None or not principal.has(Permission.MEETING_JOIN):
        return []
    today = beijing_date(service.now())
    found = await service.occurrences(
        principal, unit=None, start=today, end=today + timedelta(days=7)
    )
    now = service.now()
    return [v for v in found if not v.cancelled and v.ends_at >= now][:6]


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    if PRINCIPAL_KEY not in request:
        raise web.HTTPSeeOther("/login")
    principal = current_principal(request)
    org = request.app[ORG]
    async with request.app[DB].read() as session:
        units = await org.units(session, principal)
        rooms = await org.rooms(session, principal)
        staff = await org.staff(session, principal, principal.unit_code)
        audit: list[AuditLine] = []
        if principal.has(Permission.AUDIT_READ):
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(in_scope(principal))
                    .order_by(AuditEntry.seq.desc())
                    .limit(10)
                )
            )
            audit = await audit_lines_for(session, language_of(request), entries, fold=False)
    own = next(u for u in units if u.code == principal.unit_code)
    meetings = await upcoming_meetings(request.app, principal)
    levels = Counter(level_of(u.code) for u in units)
    kinds = Counter(r.kind for r in rooms)
    return render_page(
        request,
        "home.html",
        {
            "unit": own,
            "townships": levels[Level.TOWNSHIP],
            "villages": levels[Level.VILLAGE],
            "reception_rooms": kinds[RoomKind.RECEPTION],
            "mediation_rooms": kinds[RoomKind.MEDIATION],
            "staff": staff,
            "audit": audit,
            "tree": build_tree(units, rooms),
            "meetings": meetings,
        },
    )


@routes.get("/org")
async def org_page(request: web.Request) -> web.StreamResponse:
    return await _render_org(request)


async def _render_org(
    request: web.Request, extra: dict[str, object] | None = None, status: int = 200
) -> web.StreamResponse:
    principal = current_principal(request)
    org = request.app[ORG]
    async with request.app[DB].read() as session:
        units = await org.units(session, principal)
        rooms = await org.rooms(session, principal)
        staff = {u.code: await org.staff(session, principal, u.code) for u in units}
    return render_page(
        request,
        "org.html",
        {
            "tree": build_tree(units, rooms),
            "units": units,
            "staff": staff,
            "can_manage": principal.has(Permission.ORG_MANAGE),
            "room_kinds": list(RoomKind),
            "message": request.query.get("message"),
            "error": request.query.get("error"),
            "import_report": None,
            "import_problems": None,
            **(extra or {}),
        },
        status=status,
    )


@routes.post("/org/units/import")
async def org_import_units(request: web.Request) -> web.StreamResponse:
    """The organisation tree from an uploaded CSV (the same as ``units import FILE``)."""
    principal = current_principal(request)
    authorize(principal, Permission.ORG_MANAGE, principal.unit_code)
    form = await request.post()
    upload = form.get("file")
    # aiohttp spools uploads to a temporary file: read it off the loop.
    data = await asyncio.to_thread(upload.file.read) if isinstance(upload, FileField) else b""
    try:
        rows = parse_units_csv(decode_units_csv(data))
        if not rows:
            raise UnitCsvError([(0, "the file holds no units")])
        async with request.app[DB].transaction() as session:
            report = await request.app[ORG].import_units(session, principal, rows)
    except (UnitCsvError, InvalidInputError) as exc:
        return await _render_org(request, {"import_problems": str(exc)}, status=400)
    return await _render_org(request, {"import_report": report})


async def _form_action(
    request: web.Request, redirect: str, action: Awaitable[None]
) -> web.StreamResponse:
    """Run a form's change; show its error on the page it came from."""
    try:
        await action
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"{redirect}?error={exc.code}") from None
    raise web.HTTPSeeOther(f"{redirect}?message=saved")


@routes.post("/org/units")
async def org_add_unit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ORG].create_unit(
                session, principal, code=str(form.get("code", "")), name=str(form.get("name", ""))
            )

    return await _form_action(request, "/org", change())


@routes.post("/org/rooms")
async def org_add_room(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ORG].create_room(
                session,
                principal,
                unit_code=str(form.get("unit", "")),
                kind=str(form.get("kind", "")),
                name=str(form.get("name", "")),
            )

    return await _form_action(request, "/org", change())


@routes.post("/org/staff")
async def org_add_staff(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ORG].add_staff(
                session,
                principal,
                unit_code=str(form.get("unit", "")),
                name=str(form.get("name", "")),
                title=str(form.get("title", "")),
                phone=str(form.get("phone", "")),
            )

    return await _form_action(request, "/org", change())


@routes.get("/admin/users")
async def users_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.USER_MANAGE, principal.unit_code)
    async with request.app[DB].read() as session:
        users = list(
            await session.scalars(
                select(User)
                .where(User.unit_code.startswith(scope_prefix(principal.unit_code)))
                .order_by(User.unit_code, User.username)
            )
        )
        units = await request.app[ORG].units(session, principal)
    return render_page(
        request,
        "users.html",
        {
            "users": users,
            "units": units,
            "roles": list(Role),
            "unit_names": {u.code: u.name for u in units},
            "message": request.query.get("message"),
            "error": request.query.get("error"),
        },
    )


@routes.post("/admin/users")
async def users_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ACCOUNTS].create_user(
                session,
                principal,
                username=str(form.get("username", "")),
                password=str(form.get("password", "")),
                unit_code=str(form.get("unit", "")),
                role=str(form.get("role", "")),
                display_name=str(form.get("display_name", "")),
            )

    return await _form_action(request, "/admin/users", change())


@routes.post("/admin/users/{username}/disabled")
async def users_toggle(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ACCOUNTS].set_disabled(
                session, principal, request.match_info["username"], form.get("disabled") == "1"
            )

    return await _form_action(request, "/admin/users", change())


@routes.get("/admin/tokens")
async def tokens_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.TOKEN_MANAGE, principal.unit_code)
    async with request.app[DB].read() as session:
        tokens = list(
            await session.scalars(
                select(ApiToken)
                .where(ApiToken.unit_code.startswith(scope_prefix(principal.unit_code)))
                .order_by(ApiToken.id)
            )
        )
        units = await request.app[ORG].units(session, principal)
    return render_page(
        request,
        "tokens.html",
        {
            "tokens": tokens,
            "units": units,
            "roles": list(Role),
            "new_token": None,
            "error": request.query.get("error"),
        },
    )


@routes.post("/admin/tokens")
async def tokens_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    principal = current_principal(request)
    try:
        async with request.app[DB].transaction() as session:
            new = await request.app[ACCOUNTS].create_token(
                session,
                principal,
                name=str(form.get("name", "")),
                unit_code=str(form.get("unit", "")),
                role=str(form.get("role", "")),
            )
    except GatewayError as exc:
        raise web.HTTPSeeOther(f"/admin/tokens?error={exc.code}") from None
    async with request.app[DB].transaction() as session:
        tokens = list(
            await session.scalars(
                select(ApiToken)
                .where(ApiToken.unit_code.startswith(scope_prefix(principal.unit_code)))
                .order_by(ApiToken.id)
            )
        )
        units = await request.app[ORG].units(session, principal)
    # The secret is rendered once, in this response, and never again.
    response = render_page(
        request,
        "tokens.html",
        {
            "tokens": tokens,
            "units": units,
            "roles": list(Role),
            "new_token": new.secret,
            "error": None,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/admin/tokens/{id:\\d+}/revoke")
async def tokens_revoke(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)

    async def change() -> None:
        async with request.app[DB].transaction() as session:
            await request.app[ACCOUNTS].revoke_token(session, principal, path_id(request, "id"))

    return await _form_action(request, "/admin/tokens", change())


@routes.get("/account/password")
async def password_page(request: web.Request) -> web.StreamResponse:
    current_principal(request)
    return render_page(request, "password.html", {"error": None, "done": False})


@routes.post("/account/password")
async def password_submit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    form = await request.post()
    new, repeat = str(form.get("new", "")), str(form.get("repeat", ""))
    error: str | None = None
    if new != repeat:
        error = "The two new passwords differ."
    else:
        try:
            async with request.app[DB].transaction() as session:
                web_session = current_session(request)
                await request.app[ACCOUNTS].change_own_password(
                    session,
                    principal.id,
                    str(form.get("current", "")),
                    new,
                    keep_session=web_session.id_hash if web_session is not None else None,
                )
        except GatewayError as exc:
            error = f"error.{exc.code}"
    return render_page(
        request,
        "password.html",
        {"error": error, "done": error is None},
        status=400 if error else 200,
    )
