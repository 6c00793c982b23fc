"""Jinja2 page rendering with the caller, language, CSRF token and navigation in context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from core import Permission

from ._context import PRINCIPAL_KEY, USER_KEY, current_session
from ._i18n import LANGS, language_of, translate

__all__ = ["JINJA", "NAV", "NavItem", "create_environment", "render_page"]

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
    NavItem("Recordings", "/recordings", Permission.RECORDING_VIEW),
    NavItem("Cases", "/cases", Permission.CASE_READ),
    NavItem("Ledger", "/ledger", Permission.LEDGER_READ),
    NavItem("Users", "/admin/users", Permission.USER_MANAGE),
    NavItem("Machine accounts", "/admin/tokens", Permission.TOKEN_MANAGE),
    NavItem("RTSP restream", "/admin/restream", Permission.TOKEN_MANAGE),
    NavItem("Audit log", "/audit", Permission.AUDIT_READ),
]


def create_environment() -> jinja2.Environment:
    """Compile every template up front: rendering then touches no files on the event loop."""
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
            **context,
        )
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    if "lang" in request.query and request.query["lang"] in LANGS:
        response.set_cookie("lang", request.query["lang"], max_age=365 * 86400, samesite="Lax")
    return response
