"""Wiring of the GB/T 28181 uplink into the process: the platforms' store, the service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from core import Principal, Role, SecretBox
from sessions import BroadcastTalk, CameraRef
from uplink import BroadcastCalls, ChannelSource, PlatformStore, PlaybackCalls, UplinkService
from web import (
    CAMERA_LEASES,
    CAMERAS,
    DB,
    LIVE,
    RECORDINGS,
    SETTINGS,
    UPLINK,
    UPLINK_PLATFORMS,
)

__all__ = ["setup_uplink", "uplink_ctx"]


def setup_uplink(app: web.Application, secrets: SecretBox) -> None:
    store = PlatformStore(app[DB], secrets)
    app[UPLINK_PLATFORMS] = store
    channels = ChannelSource(app[DB], app[CAMERAS], app[CAMERA_LEASES])
    service = UplinkService(app[DB], store, app[SETTINGS].uplink, channels=channels)
    app[UPLINK] = service
    bind_host = app[SETTINGS].uplink.sip_host
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
    """After the cameras (its media comes from their hubs); it stops before they close."""
    await app[UPLINK].start()
    yield
    await app[UPLINK].close()  # unregisters from every platform
