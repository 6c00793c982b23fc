"""CameraManager: the running cameras of this gateway process, by camera id.

One :class:`CameraIngest` (RTSP session + :class:`StreamHub`) per enabled camera, started
from the database at start-up and kept in step with registrations (add, update, remove).
Live view, talk-back, the recorder and the uplink look a camera's hub and ingest up here
by id; the UI and metrics read :class:`CameraState` snapshots and follow changes through
:meth:`CameraManager.subscribe_states`.

The hub of a camera outlives reconnects and credential changes: consumers keep their
subscription and resume at the next keyframe.  Only :meth:`remove` closes it.

:meth:`CameraManager.hub` is the main stream.  Live viewers lease a stream with
:meth:`CameraManager.acquire_hub`: the sub stream is ingested only while leased (see
:mod:`camera_registry._substream`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from camera_registry._errors import CameraNotFoundError, StreamClosedError
from camera_registry._health import HealthSampler, PictureVerdict
from camera_registry._hub import StreamHub
from camera_registry._ingest import BACKOFF_STEPS, CameraIngest, IngestEvent
from camera_registry._stats import HubStats, IngestStats
from camera_registry._substream import (
    HubLease,
    IngestFactory,
    Stream,
    SubStream,
    parse_stream,
    sub_ingest_factory,
)

__all__ = ["CameraManager", "CameraSpec", "CameraState", "StateFeed"]

log = logging.getLogger("gateway.cameras")

#: Clock offsets beyond this many seconds are flagged: evidence timestamps drift, and
#: WS-UsernameToken authentication starts failing around five minutes.
CLOCK_WARNING_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """What the manager needs to run one camera (the registry builds it from the row)."""

    camera_id: int
    name: str
    unit_code: str
    rtsp_url: str
    username: str | None = None
    password: str | None = None
    backchannel: bool = True  # ask for the ONVIF backchannel with the ingest session
    clock_offset: float | None = None  # camera clock minus gateway clock, seconds
    talk_reason: str | None = None  # why talk is unavailable, from the registration probe
    sub_rtsp_url: str | None = None  # the sub stream (grid tiles); None: main only


@dataclass(frozen=True, slots=True)
class CameraState:
    """A snapshot of one running camera, for UI, API, metrics and the media consumers."""

    camera_id: int
    online: bool
    reason: str  # "connected", "wrong password", "stalled: no media for 10 s", "starting" …
    since: float  # time.time() of the last online/offline change
    talk: bool  # the current (or last) session has a usable backchannel
    listen_only_reason: str | None  # why talk is unavailable; None when talk works
    stats: HubStats  # what reached the hub: frames, bytes, rates over ``stats.window``
    retry_in: float | None = None  # seconds to the next connection attempt when offline
    picture: PictureVerdict | None = None  # last picture check (black, frozen, covered …)
    clock_offset: float | None = None
    clock_warning: str | None = None  # set when the camera clock is far from ours
    ingest: IngestStats = field(default_factory=IngestStats)  # RTSP sessions: packets, losses

    @property
    def status(self) -> str:
        """One word for badges and metrics: online, offline or listen_only."""
        if not self.online:
            return "offline"
        return "online" if self.talk else "listen_only"


class StateFeed:
    """Follow state changes: ``async for state in feed`` until :meth:`close`.

    Coalesces per camera (a slow reader sees each camera's latest state, never a growing
    backlog), so memory is bounded by the number of cameras.
    """

    def __init__(self, manager: CameraManager) -> None:
        self._manager = manager
        self._pending: OrderedDict[int, CameraState] = OrderedDict()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def _offer(self, state: CameraState) -> None:
        self._pending[state.camera_id] = state
        self._pending.move_to_end(state.camera_id)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> CameraState:
        """The next change; raises :class:`StreamClosedError` once the feed is closed."""
        while not self._pending:
            if self._closed:
                raise StreamClosedError("the camera state feed is closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._pending.popitem(last=False)[1]

    def __aiter__(self) -> StateFeed:
        return self

    async def __anext__(self) -> CameraState:
        try:
            return await self.get()
        except StreamClosedError:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop following; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._manager._feeds.discard(self)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Running:
    """One camera's moving parts."""

    __slots__ = ("ingest", "sampler", "spec", "state", "sub")

    def __init__(self, spec: CameraSpec, ingest: CameraIngest, state: CameraState) -> None:
        self.spec = spec
        self.ingest = ingest
        self.state = state
        self.sampler: HealthSampler | None = None
        self.sub: SubStream | None = None


SpecLoader = Callable[[], Awaitable[Iterable[CameraSpec]]]


class CameraManager:
    """Owns every running camera; ``await start()`` … ``await close()`` (both idempotent)."""

    def __init__(
        self,
        *,
        load: SpecLoader | None = None,
        stall_timeout: float = 10.0,
        request_timeout: float = 10.0,
        backoff: Iterable[float] | None = None,
        health_interval: float | None = 30.0,
        sub_linger: float = 30.0,
    ) -> None:
        """``load`` returns the enabled cameras at start-up (the registry's loader);
        ``health_interval`` is the seconds between picture checks (None: no checks);
        ``sub_linger`` is how long a sub stream keeps running after its last viewer."""
        self._load = load
        self._stall_timeout = stall_timeout
        self._request_timeout = request_timeout
        self._backoff = tuple(backoff) if backoff is not None else None
        self._health_interval = health_interval
        self._sub_linger = sub_linger
        self._cameras: dict[int, _Running] = {}
        self._feeds: set[StateFeed] = set()
        self._lock = asyncio.Lock()
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start every camera the loader returns; idempotent."""
        if self._started:
            return
        self._started = True
        if self._load is not None:
            for spec in await self._load():
                await self.add(spec)

    async def close(self) -> None:
        """Stop every ingest and sampler and close every hub; idempotent, no task left."""
        self._started = False
        async with self._lock:
            running = list(self._cameras.values())
            self._cameras.clear()
        for item in running:
            await self._dispose(item)
        for feed in list(self._feeds):
            feed.close()

    # ------------------------------------------------------------------- lookups
    def _get(self, camera_id: int) -> _Running:
        item = self._cameras.get(camera_id)
        if item is None:
            raise CameraNotFoundError(
                f"camera {camera_id} is not running on this gateway; "
                "check that it is registered and enabled"
            )
        return item

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._cameras

    @property
    def camera_ids(self) -> list[int]:
        return sorted(self._cameras)

    def hub(self, camera_id: int) -> StreamHub:
        """The camera's stream hub (stable across reconnects and credential changes)."""
        return self._get(camera_id).ingest.hub

    async def acquire_hub(self, camera_id: int, stream: Stream | str = "main") -> HubLease:
        """Lease a hub of the camera to watch: ``"main"`` or ``"sub"``.

        The sub stream starts on the first lease and stops ``sub_linger`` seconds after the
        last release; a camera without a sub stream serves main (``lease.stream`` says
        which).  Release the lease when the viewer leaves.
        """
        wanted = parse_stream(stream)
        item = self._get(camera_id)
        if wanted == "sub" and item.sub is not None:
            return await item.sub.acquire()
        return HubLease(item.ingest.hub, "main")

    def sub_stream(self, camera_id: int) -> SubStream | None:
        """The camera's lazily ingested sub stream (None: it has none), for status and tests."""
        return self._get(camera_id).sub

    def ingest(self, camera_id: int) -> CameraIngest:
        """The camera's ingest: ``send_talk()`` for the backchannel, ``client`` while online."""
        return self._get(camera_id).ingest

    def spec(self, camera_id: int) -> CameraSpec:
        return self._get(camera_id).spec

    def state(self, camera_id: int) -> CameraState:
        """The camera's current state with fresh hub statistics."""
        item = self._get(camera_id)
        return replace(item.state, stats=item.ingest.hub.stats(), ingest=item.ingest.stats())

    def states(self) -> list[CameraState]:
        return [self.state(camera_id) for camera_id in self.camera_ids]

    def subscribe_states(self) -> StateFeed:
        """A feed of state changes (online/offline, talk, picture); close it when done."""
        feed = StateFeed(self)
        self._feeds.add(feed)
        return feed

    # ------------------------------------------------------------------ changes
    async def add(self, spec: CameraSpec) -> None:
        """Start a camera; an already running camera is updated instead."""
        async with self._lock:
            existing = self._cameras.get(spec.camera_id)
            if existing is not None:
                await self._restart(existing, spec, existing.ingest.hub)
                return
            hub = StreamHub(str(spec.camera_id))
            self._cameras[spec.camera_id] = await self._launch(spec, hub)

    async def update(self, spec: CameraSpec) -> None:
        """Apply a changed registration (URL, credentials): a new session, the same hub."""
        async with self._lock:
            item = self._cameras.get(spec.camera_id)
            if item is None:
                hub = StreamHub(str(spec.camera_id))
                self._cameras[spec.camera_id] = await self._launch(spec, hub)
            elif item.spec != spec:
                await self._restart(item, spec, item.ingest.hub)

    async def remove(self, camera_id: int, *, reason: str | None = None) -> None:
        """Stop a camera and close its hub (subscribers end, told ``reason``); unknown ids
        are ignored."""
        async with self._lock:
            item = self._cameras.pop(camera_id, None)
        if item is not None:
            await self._dispose(item, reason)

    # ---------------------------------------------------------------- internals
    async def _launch(
        self, spec: CameraSpec, hub: StreamHub, sub: SubStream | None = None
    ) -> _Running:
        state = CameraState(
            camera_id=spec.camera_id,
            online=False,
            reason="starting",
            since=time.time(),
            talk=False,
            listen_only_reason=spec.talk_reason,
            stats=hub.stats(),
            clock_offset=spec.clock_offset,
            clock_warning=clock_warning(spec.clock_offset),
        )
        ingest = CameraIngest(
            str(spec.camera_id),
            spec.rtsp_url,
            username=spec.username,
            password=spec.password,
            hub=hub,
            on_event=lambda event: self._on_event(spec.camera_id, ingest, event),
            backchannel=spec.backchannel,
            stall_timeout=self._stall_timeout,
            request_timeout=self._request_timeout,
            backoff=self._backoff if self._backoff is not None else BACKOFF_STEPS,
        )
        item = _Running(spec, ingest, state)
        if sub is None and spec.sub_rtsp_url is not None:
            sub = SubStream(spec.camera_id, self._sub_factory(spec), linger=self._sub_linger)
        item.sub = sub
        self._publish(item, state)
        await ingest.start()
        if self._health_interval is not None:
            item.sampler = HealthSampler(
                hub,
                interval=self._health_interval,
                on_verdict=lambda verdict: self._on_picture(item, verdict),
            )
            await item.sampler.start()
        return item

    async def _restart(self, item: _Running, spec: CameraSpec, hub: StreamHub) -> None:
        await self._stop(item)
        sub, item.sub = item.sub, None
        if sub is not None and spec.sub_rtsp_url is None:
            await sub.close()  # its viewers end; on reconnect they are served main
            sub = None
        elif sub is not None and (spec.sub_rtsp_url, spec.username, spec.password) != (
            item.spec.sub_rtsp_url,
            item.spec.username,
            item.spec.password,
        ):
            await sub.retarget(self._sub_factory(spec))
        fresh = await self._launch(spec, hub, sub)
        self._cameras[spec.camera_id] = fresh

    def _sub_factory(self, spec: CameraSpec) -> IngestFactory:
        assert spec.sub_rtsp_url is not None
        return sub_ingest_factory(
            f"{spec.camera_id}/sub",
            spec.sub_rtsp_url,
            username=spec.username,
            password=spec.password,
            stall_timeout=self._stall_timeout,
            request_timeout=self._request_timeout,
            backoff=self._backoff if self._backoff is not None else BACKOFF_STEPS,
        )

    async def _dispose(self, item: _Running, reason: str | None = None) -> None:
        """Stop everything of a camera that is going away and close its hubs."""
        await self._stop(item)
        sub, item.sub = item.sub, None
        if sub is not None:
            await sub.close()
        item.ingest.hub.close(reason)

    async def _stop(self, item: _Running) -> None:
        sampler, item.sampler = item.sampler, None
        if sampler is not None:
            await sampler.close()
        await item.ingest.close()

    def _on_event(self, camera_id: int, ingest: CameraIngest, event: IngestEvent) -> None:
        item = self._cameras.get(camera_id)
        if item is None or item.ingest is not ingest:
            return  # a late event from an ingest that was replaced or removed
        previous = item.state
        client = ingest.client
        if event.online and client is not None:
            talk = client.backchannel is not None
            listen_only = None if talk else (event.listen_only_reason or client.listen_only_reason)
        else:
            talk, listen_only = previous.talk, previous.listen_only_reason
        changed = event.online != previous.online
        state = replace(
            previous,
            online=event.online,
            reason=event.reason,
            since=event.at if changed or previous.reason == "starting" else previous.since,
            talk=talk,
            listen_only_reason=listen_only,
            retry_in=event.retry_in,
            stats=ingest.hub.stats(),
            ingest=ingest.stats(),
        )
        if changed or event.reason != previous.reason:
            level = logging.INFO if event.online else logging.WARNING
            log.log(
                level,
                "camera %s",
                "online" if event.online else "offline",
                extra={"camera": camera_id, "reason": event.reason},
            )
        self._publish(item, state)

    def _on_picture(self, item: _Running, verdict: PictureVerdict) -> None:
        if self._cameras.get(item.spec.camera_id) is not item:
            return
        previous = item.state
        if previous.picture is None or previous.picture.problem != verdict.problem:
            log.log(
                logging.WARNING if verdict.problem else logging.INFO,
                "camera picture %s",
                verdict.problem or "ok",
                extra={"camera": item.spec.camera_id, "detail": verdict.detail},
            )
        self._publish(item, replace(previous, picture=verdict, stats=item.ingest.hub.stats()))

    def _publish(self, item: _Running, state: CameraState) -> None:
        item.state = state
        for feed in list(self._feeds):
            feed._offer(state)

    async def check_picture(self, camera_id: int, wait: float = 10.0) -> PictureVerdict:
        """Run a picture check now (the UI's 'check' button, tests); also updates the state."""
        item = self._get(camera_id)
        sampler = item.sampler or HealthSampler(item.ingest.hub, interval=None)
        verdict = await sampler.check(wait)
        self._on_picture(item, verdict)
        return verdict


def clock_warning(offset: float | None, limit: float = CLOCK_WARNING_SECONDS) -> str | None:
    """A warning when the camera clock is more than ``limit`` seconds off ours (pure)."""
    if offset is None or abs(offset) <= limit:
        return None
    direction = "ahead of" if offset > 0 else "behind"
    return (
        f"camera clock is {abs(offset):.0f} s {direction} the gateway; "
        "set the camera to use NTP so recordings carry the right time"
    )
