"""Live view for a platform (实时点播, gb28181.md §5): INVITE ``s=Play`` → 200 with the
answer SDP → ACK → the camera's frames as MPEG-PS in RTP (PT 96) until BYE.

- The frames come from the camera's hub, like every other consumer: several platforms and
  several sessions per camera share the one camera connection.  The PS packet of a video
  frame carries a pack header always and system header + PSM on every IDR (SPS/PPS are in
  band before each IDR: the hub's frames have them); G.711 audio goes in its own PES and
  PS packet; RTP timestamps are the camera's, rescaled to 90 kHz; the marker closes each
  frame.
- For ``setup:active`` offers the gateway listens before it answers; for
  ``setup:passive`` it connects after the 200 (3 attempts, 1 s apart); UDP just sends.
- The session ends, and its resources go, on BYE (200), CANCEL before the answer (487),
  no ACK within 64·T1, the media connection dropping, or the camera going away — the last
  three with a BYE to the platform.
- Answers: 404 for a channel the platform does not have, 480 for an offline camera (and
  for one run by another gateway process: see docs/decisions.md), 488/415 for an offer
  the gateway cannot serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from camera_registry import CameraManager, HubLease, Subscription
from core import record
from media import (
    PsMuxer,
    PsPacketizer,
    SipRequest,
    SipResponse,
    new_tag,
    parse_sdp,
    response_to,
)

from ._channels import ChannelSource
from ._dispatch import DialogTable, IncomingCall, InviteRouter
from ._media_out import MediaLostError, RtpSink, open_sink
from ._offer import MediaOffer, OfferError, answer_sdp, parse_offer
from ._transactions import Timers
from ._transport import Peer

__all__ = ["LiveCalls", "LiveSession"]

log = logging.getLogger("uplink.live")


@dataclass(slots=True)
class LiveSession:
    """One platform's live view of one camera (a SIP dialog)."""

    calls: LiveCalls
    call: IncomingCall
    offer: MediaOffer
    camera_id: int
    gb_id: str
    lease: HubLease | None
    sink: RtpSink | None
    local_tag: str
    remote: RemoteMedia | None = None
    relay: RemoteStream | None = None
    unit_code: str | None = None
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    frames: int = 0
    ended: str | None = None
    answered: bool = False
    cancelled: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    subscription: Subscription | None = None
    cseq: int = 1
    answer: SipResponse | None = None

    @property
    def call_id(self) -> str:
        return self.call.request.call_id

    def status(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "channel_id": self.gb_id,
            "stream": self.lease.stream
            if self.lease
            else (self.relay.stream if self.relay else ""),
            "transport": self.offer.transport,
            "destination": f"{self.offer.address}:{self.offer.port}",
            "since": self.started,
            "frames": self.frames,
            "bytes": self.sink.bytes if self.sink else None,
            "relayed_by": self.relay.owner if self.relay else None,
        }

    # ------------------------------------------------------------ in-dialog
    async def on_request(self, request: SipRequest, peer: Peer) -> SipResponse | None:
        method = request.method.upper()
        if method == "ACK":
            self.acked.set()
            return None
        if method == "BYE":
            self.calls.spawn(self.end("the platform hung up (BYE)", bye=False))
            return response_to(request, 200)
        if method == "CANCEL":
            if not self.answered:
                self.cancelled = True
            return response_to(request, 200)
        return response_to(request, 200)  # INFO, in-dialog MESSAGE: nothing to do live

    # ------------------------------------------------------------- streaming
    async def run(self) -> None:
        reason = "the session ended"
        bye = True
        try:
            reason = await self._run()
        except MediaLostError as exc:
            reason = str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("live session %s failed", self.call_id)
            reason = f"internal error: {exc}"
        if self.ended is None:
            await self.end(reason, bye=bye, from_task=True)

    async def _run(self) -> str:
        timers = self.calls.timers
        answer = self.answer
        assert answer is not None
        # RFC 3261 §13.3.1.4: over UDP the 2xx is resent until the ACK comes
        delay, waited = timers.t1, 0.0
        while not self.acked.is_set():
            if waited >= timers.transaction_timeout:
                return f"no ACK within {timers.transaction_timeout:g} s"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), delay)
            waited += delay
            if not self.acked.is_set() and self.call.peer.transport == "UDP":
                await self.call.endpoint.send(answer, self.call.peer)
            delay = min(delay * 2, timers.t2)
        if self.remote is not None:  # the camera's own process sends the media
            assert self.relay is not None
            await self.remote.start(self.relay)
            while True:
                await asyncio.sleep(1.0)
                alive, reason, frames = await self.remote.status(self.relay)
                self.frames = frames
                if not alive:
                    return reason or "the media ended in the camera's process"
        assert self.sink is not None and self.lease is not None
        await self.sink.start()
        return await pump(self.lease, self.sink, self.offer.ssrc_value, self)

    async def end(self, reason: str, *, bye: bool, from_task: bool = False) -> None:
        """End the session once: stop media, let go of the hub, BYE if we end it."""
        if self.ended is not None:
            return
        self.ended = reason
        log.info("live session of camera %s for %s ended: %s",
                 self.camera_id, self.call.link.config.name, reason)  # fmt: skip
        self.calls.forget(self)
        if self.answered:
            self.calls.spawn(
                self.calls.audit(self, "uplink.live.end", {"reason": reason, "frames": self.frames})
            )
        if self.task is not None and not from_task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.subscription is not None:
            self.subscription.close()
        if self.lease is not None:
            self.lease.release()
        if self.sink is not None:
            await self.sink.close()
        if self.remote is not None and self.relay is not None:
            with contextlib.suppress(Exception):
                await self.remote.stop(self.relay)
        if bye and self.answered:
            await self._bye()

    async def _bye(self) -> None:
        self.cseq += 1
        await self.call.hang_up(self.local_tag, self.cseq)


def audio_codec(lease: HubLease) -> str | None:
    """The camera's G.711 codec if it sends G.711 (AAC is left out: not in PS)."""
    for track in lease.hub.tracks:
        if (
            track.kind == "audio"
            and track.codec in ("PCMA", "PCMU")
            and track.direction in ("recvonly", "sendrecv", "")
        ):
            return track.codec
    return None


class _Counter(Protocol):
    frames: int
    subscription: Subscription | None


async def pump(lease: HubLease, sink: RtpSink, ssrc: int, counter: _Counter) -> str:
    """The hub's frames as PS over RTP into ``sink`` until one of them ends; the reason.

    From the first keyframe on; one PS packet per frame (video or G.711 audio), its RTP
    timestamp the camera's timestamp at 90 kHz, the marker on its last packet."""
    sub = lease.hub.subscribe(("video", "audio"))
    counter.subscription = sub
    lost = sink.lost
    muxer: PsMuxer | None = None
    packetizer = PsPacketizer(ssrc)
    audio = audio_codec(lease)
    try:
        while True:
            getter = asyncio.ensure_future(sub.get())
            waiting: set[asyncio.Future[Any]] = {getter, lost}
            try:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if lost in done:
                return lost.result()
            try:
                frame = getter.result()
            except Exception:  # the hub closed: the camera went away
                return lease.hub.close_reason or "the camera stream ended"
            if frame.kind == "video":
                if muxer is None:
                    if not frame.keyframe or frame.codec not in ("H264", "H265"):
                        continue
                    muxer = PsMuxer(video=frame.codec, audio=audio)
                elif frame.codec != muxer.video_codec:
                    continue
            elif muxer is None or frame.codec != muxer.audio_codec:
                continue
            pts, ps = muxer.mux(frame)
            await sink.send(packetizer.packetize(ps, pts))
            if frame.kind == "video":
                counter.frames += 1
    finally:
        sub.close()


class RemoteMedia(Protocol):
    """The media of a live session served by the process that runs the camera (several
    gateway processes): ``gateway.app`` implements it over the cluster's signed HTTP."""

    def owner(self, camera_id: int) -> str | None:
        """The owner's address, or None if no other process runs the camera."""

    async def open(self, owner: str, camera_id: int, offer: MediaOffer) -> RemoteStream: ...

    async def start(self, stream: RemoteStream) -> None: ...

    async def status(self, stream: RemoteStream) -> tuple[bool, str | None, int]: ...

    async def stop(self, stream: RemoteStream) -> None: ...


@dataclass(frozen=True, slots=True)
class RemoteStream:
    owner: str
    relay_id: str
    host: str  # where the owner sends from / listens ("" = this process's address)
    port: int
    stream: str
    video_codec: str | None
    audio_codec: str | None


class LiveCalls:
    """The ``Play`` handler of :class:`InviteRouter` and the live sessions it runs."""

    def __init__(
        self,
        dialogs: DialogTable,
        channels: ChannelSource,
        manager: CameraManager,
        *,
        bind_host: str,
        timers: Timers,
        remote: RemoteMedia | None = None,
    ) -> None:
        self.remote = remote
        self.dialogs = dialogs
        self.channels = channels
        self.manager = manager
        self.bind_host = bind_host
        self.timers = timers
        self._sessions: dict[str, LiveSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def register_on(self, router: InviteRouter) -> None:
        router.register("Play", self.play)

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def audit(self, session: LiveSession, action: str, detail: dict[str, Any]) -> None:
        """An audit entry for a platform's live view (like a browser's): who (the
        platform), which camera, how; a database hiccup never stops the media."""
        link = session.call.link
        try:
            async with self.channels.db.transaction() as db_session:
                await record(
                    db_session,
                    f"platform:{link.config.server_id}",
                    action,
                    object_type="camera",
                    object_id=session.camera_id,
                    unit_code=session.unit_code,
                    detail={"platform": link.config.name, "platform_id": link.config.id,
                            "channel": session.gb_id, **detail},
                )  # fmt: skip
        except Exception:
            log.warning("could not audit %s of camera %s", action, session.camera_id,
                        exc_info=True)  # fmt: skip

    def forget(self, session: LiveSession) -> None:
        self._sessions.pop(session.call_id, None)
        self.dialogs.remove(session.call_id, session)

    def sessions(self, platform_id: int | None = None) -> list[LiveSession]:
        return [
            s
            for s in self._sessions.values()
            if platform_id is None or s.call.link.config.id == platform_id
        ]

    def audio_codec(self, lease: HubLease) -> str | None:
        return audio_codec(lease)

    async def close(self) -> None:
        await asyncio.gather(
            *(s.end("the gateway is stopping", bye=True) for s in list(self._sessions.values())),
            return_exceptions=True,
        )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _remote_session(
        self, call: IncomingCall, offer: MediaOffer, camera_id: int, gb_id: str
    ) -> LiveSession | None:
        """A session whose media the camera's own process sends (None: refused)."""
        owner = self.remote.owner(camera_id) if self.remote is not None else None
        if self.remote is None or owner is None:
            await call.refuse(480, "Camera Not Running")
            return None
        try:
            relay = await self.remote.open(owner, camera_id, offer)
        except Exception as exc:
            log.warning("the camera's process did not take the media of %s: %s", gb_id, exc)
            await call.refuse(480, "Camera Process Unavailable")
            return None
        session = LiveSession(
            self, call, offer, camera_id, gb_id, None, None, new_tag(), self.remote, relay
        )
        self._sessions[session.call_id] = session
        self.dialogs.add(session.call_id, session)
        return session

    async def play(self, call: IncomingCall) -> None:
        link = call.link
        try:
            offer = parse_offer(
                call.request, parse_sdp(call.request.body), domain=link.config.domain
            )
        except OfferError as exc:
            await call.refuse(exc.status, exc.reason[:60])
            return
        channel = await self.channels.channel(link.config, offer.channel_id)
        if channel is None:
            await call.refuse(404, "Channel Not Found")
            return
        if not channel.enabled or not channel.online:
            await call.refuse(480, "Camera Offline")
            return
        host = sip_host = link.local_host()
        if channel.camera_id not in self.manager:
            session = await self._remote_session(call, offer, channel.camera_id, channel.gb_id)
            if session is None:
                return
            assert session.relay is not None
            host = session.relay.host or host
            body = answer_sdp(
                offer, channel_id=channel.gb_id, host=host, port=session.relay.port,
                video_codec=session.relay.video_codec, audio_codec=session.relay.audio_codec,
            )  # fmt: skip
        else:
            lease = await self.manager.acquire_hub(channel.camera_id, offer.stream)
            try:
                sink = await open_sink(offer, self.bind_host)
            except OSError as exc:
                lease.release()
                log.warning("cannot open a media port for %s: %s", offer.channel_id, exc)
                await call.refuse(486, "No Media Port")
                return
            session = LiveSession(
                self, call, offer, channel.camera_id, channel.gb_id, lease, sink, new_tag()
            )
            self._sessions[session.call_id] = session
            self.dialogs.add(session.call_id, session)
            video = next((t.codec for t in lease.hub.tracks if t.kind == "video"), "H264")
            body = answer_sdp(
                offer, channel_id=channel.gb_id, host=host, port=sink.local_port,
                video_codec=video, audio_codec=self.audio_codec(lease),
            )  # fmt: skip
        if session.cancelled or call.cancelled:
            await call.refuse(487)
            await session.end("cancelled before the answer", bye=False)
            return
        answer = response_to(
            call.request,
            200,
            to_tag=session.local_tag,
            headers=[
                ("Contact", f"<sip:{channel.gb_id}@{sip_host}:{call.endpoint.port}>"),
                ("Content-Type", "application/sdp"),
            ],
            body=body,
        )
        session.answer = answer
        session.answered = True
        session.unit_code = channel.unit_code
        await call.respond(answer)
        self.spawn(
            self.audit(
                session,
                "uplink.live.start",
                {"transport": offer.transport, "destination": f"{offer.address}:{offer.port}",
                 "stream": offer.stream, "ssrc": offer.ssrc},
            )
        )  # fmt: skip
        log.info("live session of camera %s for %s over %s to %s:%s (y=%s)",
                 channel.camera_id, link.config.name, offer.transport,
                 offer.address, offer.port, offer.ssrc)  # fmt: skip
        session.task = asyncio.ensure_future(session.run())
