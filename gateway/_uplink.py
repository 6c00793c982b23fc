"""Wiring of the GB/T 28181 uplink into the process: the platforms' store, the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from core import SecretBox
from uplink import ChannelSource, PlatformStore, UplinkService, sip_leader
from web import CAMERA_LEASES, CAMERAS, DB, SETTINGS, UPLINK, UPLINK_PLATFORMS

__all__ = ["setup_uplink", "uplink_ctx"]

log = logging.getLogger("gateway.uplink")


def setup_uplink(app: web.Application, secrets: SecretBox) -> None:
    store = PlatformStore(app[DB], secrets)
    app[UPLINK_PLATFORMS] = store
    channels = ChannelSource(app[DB], app[CAMERAS], app[CAMERA_LEASES])
    app[UPLINK] = UplinkService(app[DB], store, app[SETTINGS].uplink, channels=channels)


async def uplink_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the cameras (its media comes from their hubs); it stops before they close.

    Alone (SQLite) the process runs the SIP endpoint; with several processes on one
    PostgreSQL only the oldest live one does (``uplink.sip_leader``), re-checked at every
    lease renewal, so another takes over within a lease TTL when it dies.
    """
    service = app[UPLINK]
    task: asyncio.Task[None] | None = None
    if app[DB].engine.dialect.name == "sqlite":
        await service.start()
    else:
        task = asyncio.create_task(_lead(app))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await service.close()  # unregisters from every platform


async def _lead(app: web.Application) -> None:
    service, cluster = app[UPLINK], app[SETTINGS].cluster
    node = app[CAMERA_LEASES].node_id
    while True:
        try:
            leader = await sip_leader(app[DB], cluster.lease_ttl)
            if leader in (None, node) and not service.running:
                log.info("this process runs the GB/T 28181 SIP endpoint", extra={"node": node})
                await service.start()
            elif leader not in (None, node) and service.running:
                log.info("another process runs the SIP endpoint now", extra={"leader": leader})
                await service.close()
        except Exception:  # the database away for a moment: keep the current role
            log.warning("uplink leadership check failed", exc_info=True)
        await asyncio.sleep(cluster.lease_renew)
