"""The web layer's cross-cutting concerns, in order: metrics → errors → authentication →
CSRF; security headers on every answer by an ``on_response_prepare`` hook.  Domain errors become HTTP answers here and nowhere else."""

from __future__ import annotations

import hmac
import logging
import time
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.exc import DBAPIError

from core import (
    AuthenticationError,
    ConflictError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SessionChange,
    UnavailableError,
)

from ._cluster import CLUSTER, FORWARDED, forwarded_principal
from ._context import (
    ACCOUNTS,
    DB,
    METRICS,
    PRINCIPAL_KEY,
    SESSION_KEY,
    SETTINGS,
    USER_KEY,
    current_session,
)
from ._i18n import language_of, translate

__all__ = ["SESSION_COOKIE", "middlewares", "security_headers"]

log = logging.getLogger("gateway.web")

SESSION_COOKIE = "zz_session"
LOGIN_CSRF_COOKIE = "zz_login_csrf"
_PUBLIC_PREFIXES = (
    "/static/",
    "/login",
    "/healthz",
    "/metrics",
    "/api/openapi.json",
    "/api/session",
    "/lang",
    "/api/meetings/calendar/",  # meeting feeds: the link is the secret (calendar apps cannot sign in)
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_STATUS: list[tuple[type[GatewayError], int]] = [
    (RateLimitedError, 429),
    (InvalidInputError, 400),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (UnavailableError, 503),
]


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def status_of(exc: GatewayError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(
    request: web.Request, status: int, code: str, message: str
) -> web.StreamResponse:
    lang = language_of(request)
    localized = translate(lang, f"error.{code}") or message
    if _is_api(request) or request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response(
            {"error": code, "message": message, "localized": localized}, status=status
        )
    if status == 401:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
    from ._render import render_page  # the pages module imports middleware names

    return render_page(
        request, "error.html", {"status": status, "message": localized}, status=status
    )


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[METRICS]
        metrics.requests.labels(name, str(status)).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - start)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        status = status_of(exc)
        if status >= 500:
            log.warning(
                "request failed",
                extra={"path": request.path, "error": exc.code, "detail": exc.message},
            )
        response = error_response(request, status, exc.code, exc.message)
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    except web.HTTPException as exc:
        if _is_api(request) and exc.status >= 400:
            code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
                exc.status, "http_error"
            )
            message = {
                413: f"request body is larger than the "
                f"{request.app[SETTINGS].http.max_body} byte limit"
            }.get(exc.status, exc.reason)
            return web.json_response({"error": code, "message": message}, status=exc.status)
        if exc.status in (404, 405) and request.method in ("GET", "HEAD"):
            # An unknown address answers the styled page in the reader's language, not
            # aiohttp's bare "404: Not Found".
            return error_response(request, exc.status, "page_not_found", "page not found")
        raise
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            log.exception("unhandled error", extra={"path": request.path})
            return error_response(
                request, 500, "internal", "internal error; the gateway logged the details"
            )
        # The database dropped the connection (restart, failover, a killed backend): the
        # transaction was rolled back and the pool reconnects; the client may retry.
        log.warning("database connection lost", extra={"path": request.path})
        return error_response(
            request, 503, "database_unavailable", "the database connection was lost; retry"
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(
            request, 500, "internal", "internal error; the gateway logged the details"
        )


_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
#: one year, the figure browsers' preload lists ask for; no includeSubDomains: the
#: gateway is one host on a county LAN, not the owner of its parent domain
_HSTS = "max-age=31536000"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The security headers on every answer: pages, API, errors, redirects, static files.

    An ``on_response_prepare`` hook rather than a middleware, so that answers made from
    exceptions (401/404/redirects) and by aiohttp itself get them too.  Under TLS the
    answer adds HSTS and every cookie it sets is ``Secure``; ``Server`` names no version.
    """
    headers = response.headers
    headers["Server"] = "zongzhi-gateway"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", _CSP)
    settings = request.app[SETTINGS]
    secure = settings.security.cookie_secure
    if settings.tls or request.secure:
        headers.setdefault("Strict-Transport-Security", _HSTS)
    if secure or (secure is None and (settings.tls or request.secure)):
        cookies = headers.popall("Set-Cookie", [])
        for cookie in cookies:
            if "secure" not in (part.strip().lower() for part in cookie.split(";")):
                cookie += "; Secure"
            headers.add("Set-Cookie", cookie)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/metrics":  # its own machine token (or loopback), see _system
        return await handler(request)
    accounts, db = request.app[ACCOUNTS], request.app[DB]
    forwarded = request.headers.get(FORWARDED)
    if forwarded is not None:  # from another process of this deployment (see _cluster)
        cluster = request.app.get(CLUSTER)
        if cluster is None:
            raise AuthenticationError(
                "this process takes no forwarded requests", code="bad_forward"
            )
        request[PRINCIPAL_KEY] = await forwarded_principal(request, cluster, forwarded)
        return await handler(request)
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'", code="bad_token")
        # One read per request; the token's last use is written at most once a minute.
        async with db.read() as session:
            principal = await accounts.resolve_token(session, secret.strip())
        if accounts.token_needs_touch(principal):
            async with db.transaction() as session:
                await accounts.touch_token(session, principal)
        request[PRINCIPAL_KEY] = principal
        return await handler(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        async with db.read() as session:
            resolved = await accounts.resolve_session(session, cookie)
        if isinstance(resolved, SessionChange):  # expired, or activity to record
            async with db.transaction() as session:
                resolved = await accounts.apply_session_change(session, cookie, resolved)
        if resolved is not None:
            request[PRINCIPAL_KEY], request[SESSION_KEY], request[USER_KEY] = resolved
    if (
        PRINCIPAL_KEY not in request
        and not request.path.startswith(_PUBLIC_PREFIXES)
        and request.path != "/"
    ):
        raise AuthenticationError(
            "your session has expired or you are not signed in; sign in", code="unauthenticated"
        )
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Cookie-authenticated unsafe requests must echo the session's CSRF token."""
    session = current_session(request)
    if request.method not in _SAFE_METHODS and session is not None:
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            value = form.get("_csrf", "")
            sent = value if isinstance(value, str) else ""
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise PermissionDeniedError(
                "missing or stale CSRF token; reload the page and retry", code="csrf"
            )
    return await handler(request)


def middlewares() -> list[web.middleware]:  # type: ignore[valid-type]
    return [
        metrics_middleware,
        error_middleware,
        auth_middleware,
        csrf_middleware,
    ]
