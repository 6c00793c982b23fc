"""HTTP: JSON API (+ OpenAPI), pages (Jinja2, zh-CN by default), static files, i18n."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import (
    _api_cameras,
    _api_cases,
    _api_core,
    _api_dispute_types,
    _api_live,
    _api_meetings,
    _api_recordings,
    _api_uplink,
    _pages,
    _pages_audit,
    _pages_cameras,
    _pages_cases,
    _pages_kpi,
    _pages_live,
    _pages_meetings,
    _pages_recordings,
    _pages_uplink,
    _restream,
    _system,
)
from ._api import Api, ApiOperation
from ._api_cameras import CAMERA_LEASES, CAMERA_REGISTRY, CAMERAS, state_json
from ._api_cases import CASES, LEDGERS
from ._api_live import LIVE, live_entry
from ._api_meetings import MEETINGS, ROOMS
from ._api_recordings import EXPORTS, HOUSEKEEPER, RECORDINGS
from ._api_uplink import UPLINK, UPLINK_PLATFORMS, UPLINK_RELAYS
from ._cluster import CLUSTER, FORWARDED, Cluster
from ._context import ACCOUNTS, DB, METRICS, ORG, SETTINGS, HttpMetrics, current_principal
from ._i18n import ZH, translate
from ._middleware import SESSION_COOKIE, middlewares, security_headers
from ._render import JINJA, NAV, NavItem, create_environment, render_page
from ._restream import RESTREAM, RESTREAM_ACCOUNTS
from ._schema import parse, read_json

__all__ = [
    "ACCOUNTS",
    "CAMERAS",
    "CAMERA_LEASES",
    "CAMERA_REGISTRY",
    "CASES",
    "CLUSTER",
    "DB",
    "EXPORTS",
    "FORWARDED",
    "HOUSEKEEPER",
    "LEDGERS",
    "LIVE",
    "MEETINGS",
    "METRICS",
    "NAV",
    "ORG",
    "RECORDINGS",
    "RESTREAM",
    "RESTREAM_ACCOUNTS",
    "ROOMS",
    "SESSION_COOKIE",
    "SETTINGS",
    "UPLINK",
    "UPLINK_PLATFORMS",
    "UPLINK_RELAYS",
    "ZH",
    "Api",
    "ApiOperation",
    "Cluster",
    "HttpMetrics",
    "NavItem",
    "current_principal",
    "live_entry",
    "middlewares",
    "parse",
    "read_json",
    "render_page",
    "setup_web",
    "state_json",
    "translate",
]


def setup_web(app: web.Application, apis: list[Api] | None = None) -> None:
    """Register pages, the JSON API of every floor, static files and operational endpoints.

    The caller (``gateway.app``) has already put the services under the keys of
    :mod:`web._context` and created the application with :func:`middlewares`.
    """
    every_api = [
        _api_core.api,
        _api_cameras.api,
        _api_cases.api,
        _api_dispute_types.api,
        _api_live.api,
        _api_meetings.api,
        _api_recordings.api,
        _api_uplink.api,
        _restream.api,
        *(apis or []),
    ]
    settings = app.get(SETTINGS)
    app[JINJA] = create_environment(settings.zone if settings is not None else None)
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_system.metrics_listener)
    app[_system.OPERATIONS] = [op for api in every_api for op in api.operations]
    app.router.add_routes(_system.routes)
    for api in every_api:
        app.router.add_routes(api.routes)
    app.router.add_routes(_pages.routes)
    app.router.add_routes(_pages_cameras.routes)
    app.router.add_routes(_pages_cases.routes)
    app.router.add_routes(_pages_live.routes)
    app.router.add_routes(_pages_meetings.routes)
    app.router.add_routes(_pages_recordings.routes)
    app.router.add_routes(_pages_kpi.routes)
    app.router.add_routes(_pages_audit.routes)
    app.router.add_routes(_pages_uplink.routes)
    app.router.add_routes(_api_uplink.relay_routes)
    app.router.add_routes(_restream.routes)
    app.router.add_static("/static/", Path(__file__).with_name("static"), name="static")
