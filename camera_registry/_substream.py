"""The sub stream of a camera, ingested only while someone watches it.

The main stream is the camera's always-on ingest (recording, talk backchannel, health).
Grid tiles of the live wall want the small sub stream instead: decoding sixteen 1080p
pictures in a browser is what makes walls stutter.  A :class:`SubStream` opens a second
RTSP session (no backchannel: a camera speaker has one talker, and it is on main) when
the first viewer leases it, and closes it a short linger after the last one lets go, so
a tour or a grid-size change does not reconnect the camera every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from camera_registry._errors import CameraError, StreamClosedError
from camera_registry._hub import StreamHub
from camera_registry._ingest import CameraIngest
from core.errors import InvalidInputError

__all__ = [
    "STREAMS",
    "HubLease",
    "IngestFactory",
    "Stream",
    "SubStream",
    "UnknownStreamError",
    "parse_stream",
    "sub_ingest_factory",
]

Stream = Literal["main", "sub"]
STREAMS: tuple[Stream, ...] = ("main", "sub")


class UnknownStreamError(CameraError, InvalidInputError):
    """A stream name other than ``main`` or ``sub``."""

    code = "unknown_stream"


def parse_stream(value: str) -> Stream:
    """``"main"`` or ``"sub"`` (pure); anything else raises :class:`UnknownStreamError`."""
    if value == "main":
        return "main"
    if value == "sub":
        return "sub"
    raise UnknownStreamError(f"stream must be 'main' or 'sub', got {value!r}")


@dataclass(eq=False, slots=True)
class HubLease:
    """A hub to watch, held until :meth:`release` (idempotent).

    ``stream`` is what is actually served: ``"main"`` when the sub stream was asked for
    but the camera has none.
    """

    hub: StreamHub
    stream: Stream
    _release: Callable[[], None] | None = field(default=None, repr=False)

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


IngestFactory = Callable[[StreamHub], CameraIngest]


def sub_ingest_factory(
    name: str,
    url: str,
    *,
    username: str | None,
    password: str | None,
    stall_timeout: float,
    request_timeout: float,
    backoff: Sequence[float],
) -> IngestFactory:
    """Build sub-stream ingests: no backchannel, since the camera speaker has one talker
    and it is on the main session; no events, since the camera's state is main's."""

    def make(hub: StreamHub) -> CameraIngest:
        return CameraIngest(
            name,
            url,
            username=username,
            password=password,
            hub=hub,
            backchannel=False,
            stall_timeout=stall_timeout,
            request_timeout=request_timeout,
            backoff=backoff,
        )

    return make


class SubStream:
    """One camera's lazily ingested sub stream; ``await close()`` leaves no task behind."""

    def __init__(self, camera_id: int, make_ingest: IngestFactory, *, linger: float) -> None:
        """``make_ingest(hub)`` builds the (not yet started) ingest of the sub stream URL."""
        self.camera_id = camera_id
        self._make_ingest = make_ingest
        self._linger = linger
        self._users = 0
        self._hub: StreamHub | None = None
        self._ingest: CameraIngest | None = None
        self._timer: asyncio.Task[None] | None = None  # the linger, while it sleeps
        self._tasks: set[asyncio.Task[None]] = set()  # linger tasks, sleeping or closing
        self._closed = False

    @property
    def users(self) -> int:
        """Leases held now."""
        return self._users

    @property
    def ingest(self) -> CameraIngest | None:
        """The running sub-stream ingest, None while nobody watches (after the linger)."""
        return self._ingest

    async def acquire(self) -> HubLease:
        """Lease the sub stream's hub, starting its ingest if it is not running."""
        if self._closed:
            raise StreamClosedError(f"the sub stream of camera {self.camera_id} is closed")
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()  # still sleeping (it clears _timer before it closes anything)
        hub, ingest = self._hub, self._ingest
        if hub is None or ingest is None:
            hub = StreamHub(f"{self.camera_id}/sub")
            ingest = self._make_ingest(hub)
            self._hub, self._ingest = hub, ingest
        self._users += 1
        await ingest.start()
        return HubLease(hub, "sub", lambda: self._release(hub))

    async def retarget(self, make_ingest: IngestFactory) -> None:
        """A changed registration: the next session uses the new URL or credentials.

        Viewers keep their hub and resume at the next keyframe, as on the main stream.
        """
        self._make_ingest = make_ingest
        hub, old = self._hub, self._ingest
        if hub is None or old is None:
            return
        fresh = make_ingest(hub)
        self._ingest = fresh
        await old.close()
        await fresh.start()

    async def close(self) -> None:
        """Stop the ingest and close the hub (leases end); idempotent."""
        self._closed = True
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._shut()

    def _release(self, hub: StreamHub) -> None:
        if hub is not self._hub or self._users == 0:
            return  # a lease of a hub that was closed already
        self._users -= 1
        if self._users == 0 and not self._closed:
            task = asyncio.create_task(self._linger_then_stop(), name=f"sub {self.camera_id}")
            self._timer = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _linger_then_stop(self) -> None:
        await asyncio.sleep(self._linger)
        if self._timer is asyncio.current_task():
            self._timer = None
        await self._shut()

    async def _shut(self) -> None:
        # Detach first: an acquire() while the old session tears down starts a new one.
        ingest, hub = self._ingest, self._hub
        self._ingest = self._hub = None
        self._users = 0
        if ingest is not None:
            await ingest.close()
        if hub is not None:
            hub.close()
