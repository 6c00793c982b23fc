"""Operational endpoints: health, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ._api import ApiOperation, openapi_document
from ._context import DB, METRICS

__all__ = ["OPERATIONS", "routes"]

routes = web.RouteTableDef()
OPERATIONS = web.AppKey("api_operations", list[ApiOperation])


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.StreamResponse:
    try:
        async with request.app[DB].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy"; say which
        return web.json_response(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.StreamResponse:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.StreamResponse:
    from importlib.metadata import PackageNotFoundError, version

    try:
        current = version("zongzhi-gateway")
    except PackageNotFoundError:
        current = "0.0.0+local"
    return web.json_response(openapi_document(request.app[OPERATIONS], current))
