"""The camera's side of a live session whose SIP dialog another gateway process holds
(several processes: the SIP leader answers the platform, the camera's owner sends the
media straight to the platform from its own hub — the frames never cross processes).

The SIP leader drives it over the cluster's signed HTTP (``gateway.app``): ``open``
binds the media port (and listens, for ``setup:active``) before the leader answers the
INVITE; ``start`` after the ACK; ``status`` tells the leader when the media connection
dropped or the camera went away (it then sends BYE); ``stop`` on BYE.  A relay the
leader forgets (it died) stops by itself after ``idle`` seconds without a status call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from camera_registry import CameraManager, HubLease, Subscription

from ._live import audio_codec, pump
from ._media_out import MediaLostError, RtpSink, open_sink
from ._offer import MediaOffer

__all__ = ["MediaRelays"]

log = logging.getLogger("uplink.relay")


@dataclass(slots=True)
class _Relay:
    id: str
    camera_id: int
    offer: MediaOffer
    lease: HubLease
    sink: RtpSink
    frames: int = 0
    subscription: Subscription | None = None
    task: asyncio.Task[None] | None = None
    ended: str | None = None
    seen: float = field(default_factory=time.monotonic)


class MediaRelays:
    def __init__(
        self, manager: CameraManager, *, bind_host: str, advertise_host: str = "",
        idle: float = 30.0,
    ) -> None:  # fmt: skip
        self.manager = manager
        self.bind_host = bind_host
        self.advertise_host = advertise_host
        self.idle = idle
        self._relays: dict[str, _Relay] = {}
        self._reaper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._relays)

    async def open(self, camera_id: int, offer: MediaOffer) -> dict[str, Any]:
        if camera_id not in self.manager:
            raise LookupError(f"camera {camera_id} does not run in this process")
        lease = await self.manager.acquire_hub(camera_id, offer.stream)
        try:
            sink = await open_sink(offer, self.bind_host)
        except OSError:
            lease.release()
            raise
        relay = _Relay(os.urandom(8).hex(), camera_id, offer, lease, sink)
        self._relays[relay.id] = relay
        if self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap())
        video = next((t.codec for t in lease.hub.tracks if t.kind == "video"), "H264")
        return {
            "id": relay.id,
            "host": self.advertise_host,
            "port": sink.local_port,
            "stream": lease.stream,
            "video_codec": video,
            "audio_codec": audio_codec(lease),
        }

    def _get(self, relay_id: str) -> _Relay:
        relay = self._relays.get(relay_id)
        if relay is None:
            raise LookupError(f"no media relay {relay_id}")
        relay.seen = time.monotonic()
        return relay

    async def start(self, relay_id: str) -> None:
        relay = self._get(relay_id)
        if relay.task is None:
            relay.task = asyncio.ensure_future(self._run(relay))

    async def _run(self, relay: _Relay) -> None:
        try:
            await relay.sink.start()
            relay.ended = await pump(relay.lease, relay.sink, relay.offer.ssrc_value, relay)
        except MediaLostError as exc:
            relay.ended = str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("media relay %s failed", relay.id)
            relay.ended = f"internal error: {exc}"

    def status(self, relay_id: str) -> dict[str, Any]:
        relay = self._relays.get(relay_id)
        if relay is None:
            return {"alive": False, "reason": "the media relay is gone", "frames": 0}
        relay.seen = time.monotonic()
        return {"alive": relay.ended is None, "reason": relay.ended, "frames": relay.frames}

    async def stop(self, relay_id: str) -> None:
        relay = self._relays.pop(relay_id, None)
        if relay is None:
            return
        if relay.task is not None:
            relay.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay.task
        if relay.subscription is not None:
            relay.subscription.close()
        relay.lease.release()
        await relay.sink.close()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self.idle / 3)
            horizon = time.monotonic() - self.idle
            for relay_id in [r.id for r in self._relays.values() if r.seen < horizon]:
                log.info("media relay %s abandoned by the SIP process: stopped", relay_id)
                await self.stop(relay_id)

    async def close(self) -> None:
        for relay_id in list(self._relays):
            await self.stop(relay_id)
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
