"""What the web layer needs from the process, under typed application keys.

``gateway.app.create_app`` fills these; handlers read them with ``request.app[KEY]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from core import Accounts, Database, Organisation, Principal, Settings, User, WebSession
from core.errors import AuthenticationError

__all__ = [
    "ACCOUNTS",
    "DB",
    "METRICS",
    "ORG",
    "SETTINGS",
    "USER_KEY",
    "HttpMetrics",
    "current_principal",
    "current_session",
]


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            registry=registry,
            requests=Counter(
                "gateway_http_requests",
                "HTTP requests by route and status",
                ["route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "gateway_http_request_seconds", "HTTP request latency", ["route"], registry=registry
            ),
        )


SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
ACCOUNTS = web.AppKey("accounts", Accounts)
ORG = web.AppKey("org", Organisation)
METRICS = web.AppKey("metrics", HttpMetrics)

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
SESSION_KEY = web.RequestKey("web_session", WebSession)
USER_KEY = web.RequestKey("user", User)


def current_principal(request: web.Request) -> Principal:
    """The caller, set by the auth middleware; raises 401 when there is none."""
    if PRINCIPAL_KEY not in request:
        raise AuthenticationError("sign in first, or send Authorization: Bearer <token>")
    return request[PRINCIPAL_KEY]


def current_session(request: web.Request) -> WebSession | None:
    return request[SESSION_KEY] if SESSION_KEY in request else None
