"""Wiring of the GB/T 28181 uplink into the process: the platforms' store, the service."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from core import SYSTEM, Principal, Role, SecretBox, UnavailableError
from sessions import BroadcastTalk, CameraRef
from uplink import (
    BroadcastCalls,
    ChannelSource,
    MediaOffer,
    MediaRelays,
    PlatformStore,
    PlaybackCalls,
    RemoteStream,
    UplinkService,
    sip_leader,
)
from web import (
    CAMERA_LEASES,
    CAMERAS,
    CLUSTER,
    DB,
    FORWARDED,
    LIVE,
    RECORDINGS,
    SETTINGS,
    UPLINK,
    UPLINK_PLATFORMS,
    UPLINK_RELAYS,
)

__all__ = ["setup_uplink", "uplink_ctx"]

log = logging.getLogger("gateway.uplink")


class ClusterMedia:
    """:class:`uplink.RemoteMedia` over the cluster's signed HTTP: the SIP process asks
    the camera's owner to send a live session's media (``/api/uplink/relays``)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def owner(self, camera_id: int) -> str | None:
        cluster = self.app[CLUSTER]
        owner = cluster.leases.owner(camera_id)
        if owner is None or owner.id == cluster.leases.node_id or not owner.url:
            return None
        return str(owner.url)

    async def _call(self, method: str, owner: str, path: str, body: Any = None) -> Any:
        cluster = self.app[CLUSTER]
        if cluster.http is None:
            raise UnavailableError("this process cannot reach its siblings yet")
        headers = {FORWARDED: cluster.sign(SYSTEM, method, path)}
        async with cluster.http.request(
            method, owner.rstrip("/") + path, json=body, headers=headers
        ) as response:
            payload = await response.json()
            if response.status >= 400:
                raise UnavailableError(
                    f"the camera's process answered {response.status}: {payload}"
                )
            return payload

    async def open(self, owner: str, camera_id: int, offer: MediaOffer) -> RemoteStream:
        data = await self._call(
            "POST", owner, "/api/uplink/relays",
            {"camera_id": camera_id, "offer": dataclasses.asdict(offer)},
        )  # fmt: skip
        return RemoteStream(
            owner=owner,
            relay_id=str(data["id"]),
            host=str(data.get("host") or ""),
            port=int(data["port"]),
            stream=str(data.get("stream") or "main"),
            video_codec=data.get("video_codec"),
            audio_codec=data.get("audio_codec"),
        )

    async def start(self, stream: RemoteStream) -> None:
        await self._call("POST", stream.owner, f"/api/uplink/relays/{stream.relay_id}/start")

    async def status(self, stream: RemoteStream) -> tuple[bool, str | None, int]:
        data = await self._call("GET", stream.owner, f"/api/uplink/relays/{stream.relay_id}")
        return bool(data["alive"]), data.get("reason"), int(data.get("frames") or 0)

    async def stop(self, stream: RemoteStream) -> None:
        await self._call("DELETE", stream.owner, f"/api/uplink/relays/{stream.relay_id}")


def setup_uplink(app: web.Application, secrets: SecretBox) -> None:
    store = PlatformStore(app[DB], secrets)
    app[UPLINK_PLATFORMS] = store
    settings = app[SETTINGS].uplink
    channels = ChannelSource(app[DB], app[CAMERAS], app[CAMERA_LEASES])
    service = UplinkService(app[DB], store, settings, channels=channels, remote=ClusterMedia(app))
    app[UPLINK] = service
    app[UPLINK_RELAYS] = MediaRelays(
        app[CAMERAS], bind_host=settings.sip_host, advertise_host=settings.advertise_host
    )
    bind_host = settings.sip_host
    # Playback and download of recordings: the same media sinks as live, frames from the
    # recorded segments (RECORDINGS is set up before the uplink).
    playback = PlaybackCalls(
        service.dialogs, channels, app[RECORDINGS].archive, bind_host=bind_host,
        timers=service.timers,
    )  # fmt: skip
    playback.register_on(service.invites)
    service.attach(playback)
    # Voice broadcast: the platform's audio through the talk floor of live talk-back.

    async def floor(
        camera_id: int, unit_code: str, *, actor: str, name: str, source: str
    ) -> BroadcastTalk:
        principal = Principal("system", 0, name, unit_code, Role.OPERATOR)
        return await app[LIVE].open_broadcast(
            principal, CameraRef(camera_id, unit_code), source=source, name=name, actor=actor
        )

    broadcasts = BroadcastCalls(service.dialogs, channels, floor, bind_host=bind_host)
    broadcasts.register_on(service.queries)
    service.attach(broadcasts)


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
    await app[UPLINK_RELAYS].close()  # media this process sent for another's sessions


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
            elif service.running:
                await service.reconcile()  # platforms changed through another process
        except Exception:  # the database away for a moment: keep the current role
            log.warning("uplink leadership check failed", exc_info=True)
        await asyncio.sleep(cluster.lease_renew)
