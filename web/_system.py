"""Operational endpoints: health, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio

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
    # The installed version is read from the package metadata on disk: off the loop.
    current = await asyncio.to_thread(_installed_version)
    return web.json_response(openapi_document(request.app[OPERATIONS], current))


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zongzhi-gateway")
    except PackageNotFoundError:
        return "0.0.0+local"
