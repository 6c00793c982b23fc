"""Wiring of the cameras into the process: the manager, the registry, metrics, lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import aiohttp
from aiohttp import web

from camera_registry import (
    CameraCollector,
    CameraLeases,
    CameraManager,
    CameraRegistry,
    LeaseSettings,
    load_camera_specs,
)
from core import SecretBox
from web import (
    CAMERA_LEASES,
    CAMERA_REGISTRY,
    CAMERAS,
    CLUSTER,
    DB,
    HOUSEKEEPER,
    METRICS,
    RECORDINGS,
    SETTINGS,
    Cluster,
    live_entry,
)

__all__ = ["cameras_ctx", "setup_cameras"]


def setup_cameras(app: web.Application, secrets: SecretBox) -> CameraManager:
    """Create the manager, the leases and the registry under their keys; nothing connects
    yet.  The leases decide which cameras this process runs (all of them when alone)."""
    manager = CameraManager()
    cluster = app[SETTINGS].cluster
    http = app[SETTINGS].http
    leases = CameraLeases(
        app[DB],
        manager,
        partial(load_camera_specs, app[DB], secrets),
        LeaseSettings(
            ttl=cluster.lease_ttl,
            renew=cluster.lease_renew,
            url=cluster.url or f"http://127.0.0.1:{http.port}",
        ),
        # what the wall of any process shows about a camera this process runs
        publish=lambda state: live_entry(app, state),
        on_claim=partial(_claimed, app),
    )
    registry = CameraRegistry(app[DB], secrets, manager, leases.round)
    app[CAMERAS] = manager
    app[CAMERA_LEASES] = leases
    app[CAMERA_REGISTRY] = registry
    app[CLUSTER] = Cluster(leases, secrets.derive("cluster-forwarding"))
    app[METRICS].registry.register(CameraCollector(manager))
    return manager


async def _claimed(app: web.Application, camera_id: int, previous: str, handed_over: bool) -> None:
    """A camera another process ran is ours now: its recording resumes here with a gap
    that names the change of process."""
    if RECORDINGS not in app:
        return
    reason = (
        f"handed over from gateway process {previous} (the cameras were rebalanced)"
        if handed_over
        else f"taken over from gateway process {previous}, which stopped renewing its lease "
        "(it crashed, was killed, or lost the database)"
    )
    await app[RECORDINGS].take_over(camera_id, previous, reason)
    if HOUSEKEEPER in app:
        app[HOUSEKEEPER].wake()  # the room's policy restarts the recording now


async def cameras_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register after the database check and before the cameras' consumers (recordings,
    live view): cleanup runs in reverse, so consumers let go before the hubs close."""
    cluster = app[CLUSTER]
    cluster.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
    await app[CAMERAS].start()
    await app[CAMERA_LEASES].start()
    yield
    await app[CAMERA_LEASES].close()
    await app[CAMERAS].close()
    await cluster.http.close()
