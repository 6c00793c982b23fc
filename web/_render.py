"""Jinja2 page rendering with the caller, language, CSRF token and navigation in context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from core import Permission

from ._charts_cases import fit_label
from ._context import PRINCIPAL_KEY, USER_KEY, current_session
from ._i18n import LANGS, language_of, translate

__all__ = ["JINJA", "NAV", "NavItem", "create_environment", "local_time", "render_page"]

JINJA = web.AppKey("jinja", jinja2.Environment)


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    permission: Permission


#: The areas of the product, in menu order; each appears for callers who may use it.
NAV: list[NavItem] = [
    NavItem("Home", "/", Permission.ORG_READ),
    NavItem("Organisation", "/org", Permission.ORG_READ),
    NavItem("Live wall", "/live", Permission.CAMERA_VIEW),
    NavItem("Cameras", "/cameras", Permission.CAMERA_VIEW),
    NavItem("Video meetings", "/meetings", Permission.MEETING_JOIN),
    NavItem("Recordings", "/recordings", Permission.RECORDING_VIEW),
    NavItem("Cases", "/cases", Permission.CASE_READ),
    NavItem("Ledger", "/ledger", Permission.LEDGER_READ),
    NavItem("KPI", "/kpi", Permission.LEDGER_READ),
    NavItem("Users", "/admin/users", Permission.USER_MANAGE),
    NavItem("Machine accounts", "/admin/tokens", Permission.TOKEN_MANAGE),
    NavItem("RTSP restream", "/admin/restream", Permission.TOKEN_MANAGE),
    NavItem("Upper platforms", "/admin/uplink", Permission.CAMERA_MANAGE),
    NavItem("Audit log", "/audit", Permission.AUDIT_READ),
]


def local_time(value: object, fmt: str = "%Y-%m-%d %H:%M", *, zone: tzinfo) -> str:
    """An instant (aware datetime, or ISO 8601 text as the API gives it) in the deployment's
    zone; a naive datetime is read as UTC, the way instants are stored; nothing gives "—"."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"local_time needs a datetime or ISO text, not {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(fmt)


def create_environment(zone: tzinfo | None = None) -> jinja2.Environment:
    """Compile every template up front: rendering then touches no files on the event loop.

    ``zone`` is the deployment's time zone: the ``local`` filter shows every instant in it.
    """
    shown_in = zone if zone is not None else ZoneInfo("Asia/Shanghai")
    folder = Path(__file__).with_name("templates")
    sources = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.html")}
    environment = jinja2.Environment(
        loader=jinja2.DictLoader(sources),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    environment.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": local_time(
        value, fmt, zone=shown_in
    )
    environment.globals["zone_key"] = getattr(shown_in, "key", str(shown_in))
    environment.filters["fit"] = fit_label
    for name in sources:
        environment.get_template(name)
    return environment


def render_page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    lang = language_of(request)
    principal = request.get(PRINCIPAL_KEY)
    session = current_session(request)
    nav = [item for item in NAV if principal is not None and principal.has(item.permission)]
    nav = [item for n, item in enumerate(nav) if item.href not in {i.href for i in nav[:n]}]
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            _=lambda text: translate(lang, text),
            lang=lang,
            langs=LANGS,
            principal=principal,
            user=request.get(USER_KEY),
            csrf=session.csrf_token if session is not None else "",
            nav=nav,
            path=request.path,
            zone_label=zone_label(lang, request.app[JINJA].globals["zone_key"]),
            say_error=lambda error: translate(lang, f"error.{error.code}") or error.message,
            **context,
        )
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    if "lang" in request.query and request.query["lang"] in LANGS:
        response.set_cookie("lang", request.query["lang"], max_age=365 * 86400, samesite="Lax")
    return response


def zone_label(lang: str, key: object) -> str:
    """What to call the zone next to a time that could be doubted: 北京时间 in China."""
    if key == "Asia/Shanghai":
        return translate(lang, "Beijing time")
    return str(key)
