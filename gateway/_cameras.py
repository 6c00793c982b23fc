"""Wiring of the cameras into the process: the manager, the registry, metrics, lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from camera_registry import CameraCollector, CameraManager, CameraRegistry, load_camera_specs
from core import SecretBox
from web import CAMERA_REGISTRY, CAMERAS, DB, METRICS

__all__ = ["cameras_ctx", "setup_cameras"]


def setup_cameras(app: web.Application, secrets: SecretBox) -> CameraManager:
    """Create the manager and registry under their keys; nothing connects yet."""
    manager = CameraManager(load=partial(load_camera_specs, app[DB], secrets))
    registry = CameraRegistry(app[DB], secrets, manager)
    app[CAMERAS] = manager
    app[CAMERA_REGISTRY] = registry
    app[METRICS].registry.register(CameraCollector(manager))
    return manager


async def cameras_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register after the database check and before the cameras' consumers (recordings,
    live view): cleanup runs in reverse, so consumers let go before the hubs close."""
    await app[CAMERAS].start()
    yield
    await app[CAMERAS].close()
