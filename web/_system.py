"""Operational endpoints: health, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ._api import ApiOperation, openapi_document
from ._context import DB, METRICS, SETTINGS
from ._middleware import security_headers
from ._restream import RESTREAM

__all__ = ["OPERATIONS", "metrics_listener", "routes"]

routes = web.RouteTableDef()
OPERATIONS = web.AppKey("api_operations", list[ApiOperation])


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


_METRICS_LISTENER = web.RequestKey("metrics_listener", bool)


async def metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """``/metrics`` on 127.0.0.1:``metrics_port`` when set: a listener of its own, owned
    by the application (started and stopped with it); every worker binds it with
    SO_REUSEPORT and answers with its own figures, as on the main port."""
    port = app[SETTINGS].http.metrics_port
    if not port:
        yield
        return

    async def serve(request: web.Request) -> web.StreamResponse:
        request[_METRICS_LISTENER] = True
        return await metrics(request)

    loopback = web.Application()
    loopback[SETTINGS] = app[SETTINGS]
    loopback[METRICS] = app[METRICS]
    loopback.router.add_get("/metrics", serve)
    loopback.on_response_prepare.append(security_headers)
    runner = web.AppRunner(loopback, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_port=True)
    await site.start()
    try:
        yield
    finally:
        await runner.cleanup()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.StreamResponse:
    try:
        async with request.app[DB].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy"; say which
        return web.json_response(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    body: dict[str, object] = {"status": "ok", "database": "ok"}
    restream = request.app.get(RESTREAM)
    if restream is not None and restream.advertised_port is not None:
        # where sibling processes redirect RTSP pulls of the cameras this one runs
        body["restream_port"] = restream.advertised_port
    return web.json_response(body)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.StreamResponse:
    """Prometheus metrics, for a machine: with the metrics token, or from loopback only.

    The figures (cameras, sessions, request counts per route) describe the whole gateway,
    beyond any one user's scope, so they are not for signed-in people either.
    """
    # Plain-text refusals: the caller is a scraper, not a browser to send to sign-in.
    if request.app[SETTINGS].http.metrics_port and not request.get(_METRICS_LISTENER, False):
        raise web.HTTPNotFound()  # served on its own loopback port instead
    return _metrics_answer(request)


def _metrics_answer(request: web.Request) -> web.StreamResponse:
    token = request.app[SETTINGS].http.metrics_token
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return web.Response(
                status=401,
                text="/metrics needs 'Authorization: Bearer <metrics token>'\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif not _loopback(request.remote):
        return web.Response(
            status=403,
            text="/metrics answers loopback only; set GATEWAY_HTTP_METRICS_TOKEN for a "
            "scraper on another machine\n",
        )
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.StreamResponse:
    # The installed version is read from the package metadata on disk: off the loop.
    current = await asyncio.to_thread(_installed_version)
    return web.json_response(openapi_document(request.app[OPERATIONS], current))


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zongzhi-gateway")
    except PackageNotFoundError:
        return "0.0.0+local"
