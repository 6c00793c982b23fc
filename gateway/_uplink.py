"""Wiring of the GB/T 28181 uplink into the process: the platforms' store, the service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from core import SecretBox
from uplink import ChannelSource, PlatformStore, UplinkService
from web import CAMERA_LEASES, CAMERAS, DB, SETTINGS, UPLINK, UPLINK_PLATFORMS

__all__ = ["setup_uplink", "uplink_ctx"]


def setup_uplink(app: web.Application, secrets: SecretBox) -> None:
    store = PlatformStore(app[DB], secrets)
    app[UPLINK_PLATFORMS] = store
    channels = ChannelSource(app[DB], app[CAMERAS], app[CAMERA_LEASES])
    app[UPLINK] = UplinkService(app[DB], store, app[SETTINGS].uplink, channels=channels)


async def uplink_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the cameras (its media comes from their hubs); it stops before they close."""
    await app[UPLINK].start()
    yield
    await app[UPLINK].close()  # unregisters from every platform
