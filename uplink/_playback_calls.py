"""Playback and download of recordings for a platform (回放/下载, gb28181.md §7).

INVITE ``s=Playback`` (or ``s=Download``) with ``t=<start> <end>`` (Unix seconds) → 200
with the answer SDP (``t=`` echoed; ``a=filesize`` for a download) → ACK → the recorded
segments of that range as MPEG-PS in RTP, exactly as live view sends the camera's frames
(the H.264 as recorded, nothing re-encoded; the room audio as G.711) — over UDP or TCP
either way round, the same sinks as live.

- Playback runs at 1×; a download at ``a=downloadspeed`` (1 if absent).  In-dialog INFO
  (``Application/MANSRTSP``) pauses, resumes, seeks (``Range: npt=<s>-``, seconds into
  the range) and changes speed (``Scale``, 0.5–4×); what cannot be done is answered 400
  with the reason, and the playback goes on.
- At the end of the range the gateway sends ``MediaStatus`` ``NotifyType 121`` inside
  the dialog; the platform then hangs up (wvp does), or the gateway does after
  :data:`END_GRACE` seconds.
- Every recording played is audited as ``recording.play`` (the platform named).
- Answers: 404 for a channel the platform does not see or a range with no recording,
  400 for a range that is not one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from media import (
    PsMuxer,
    PsPacketizer,
    SipFormatError,
    SipRequest,
    SipResponse,
    media_status_notify,
    new_tag,
    parse_mansrtsp,
    parse_name_addr,
    parse_sdp,
    response_to,
)
from recordings import RecordingArchive

from ._channels import ChannelSource
from ._dispatch import DialogTable, IncomingCall, InviteRouter
from ._media_out import MediaLostError, RtpSink, open_sink
from ._offer import MediaOffer, OfferError, answer_sdp, parse_offer
from ._playback import RecordedPlayback
from ._playback_clock import interpret
from ._playback_segments import PlaybackPlan, audit_playback, plan_playback
from ._transactions import Timers
from ._transport import Peer, SipTransportError

__all__ = ["PlaybackCalls", "PlaybackSession"]

log = logging.getLogger("uplink.playback")

#: After MediaStatus 121, how long the platform has to hang up before the gateway does.
END_GRACE = 10.0
MAX_DOWNLOAD_SPEED = 16


@dataclass(eq=False)
class PlaybackSession:
    """One platform's playback (or download) of one channel's recordings."""

    calls: PlaybackCalls
    call: IncomingCall
    offer: MediaOffer
    camera_id: int
    gb_id: str
    plan: PlaybackPlan
    playback: RecordedPlayback
    sink: RtpSink
    local_tag: str
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    frames: int = 0
    ended: str | None = None
    answered: bool = False
    cancelled: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    cseq: int = 1
    answer: SipResponse | None = None
    notified_end: bool = False

    @property
    def call_id(self) -> str:
        return self.call.request.call_id

    @property
    def mode(self) -> str:
        return "download" if self.offer.session_name.lower() == "download" else "playback"

    def status(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "channel_id": self.gb_id,
            "kind": self.mode,
            "transport": self.offer.transport,
            "destination": f"{self.offer.address}:{self.offer.port}",
            "since": self.started,
            "range": [self.offer.start, self.offer.end],
            "position": round(self.playback.position, 1),
            "scale": self.playback.scale,
            "paused": self.playback.paused,
            "frames": self.frames,
            "bytes": self.sink.bytes,
        }

    # ------------------------------------------------------------ in-dialog
    async def on_request(self, request: SipRequest, peer: Peer) -> SipResponse | None:
        method = request.method.upper()
        if method == "ACK":
            self.acked.set()
            return None
        if method == "BYE":
            self.hung_up.set()
            self.calls.spawn(self.end("the platform hung up (BYE)", bye=False))
            return response_to(request, 200)
        if method == "CANCEL":
            if not self.answered:
                self.cancelled = True
            return response_to(request, 200)
        if method == "INFO":
            return self._control(request)
        return response_to(request, 200)

    def _control(self, request: SipRequest) -> SipResponse:
        try:
            command = interpret(parse_mansrtsp(request.body), self.playback.duration)
        except (SipFormatError, ValueError) as exc:
            log.info("playback control refused: %s", exc)
            return response_to(request, 400, str(exc)[:80])
        if command.teardown:
            self.calls.spawn(self.end("the platform tore the playback down", bye=True))
        else:
            self.playback.control(command)
        return response_to(request, 200)

    # ------------------------------------------------------------- streaming
    async def run(self) -> None:
        reason = "the session ended"
        try:
            reason = await self._run()
        except MediaLostError as exc:
            reason = str(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("playback session %s failed", self.call_id)
            reason = f"internal error: {exc}"
        if self.ended is None:
            await self.end(reason, bye=True, from_task=True)

    async def _wait_ack(self) -> str | None:
        timers = self.calls.timers
        answer = self.answer
        assert answer is not None
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
        return None

    async def _run(self) -> str:
        missing = await self._wait_ack()
        if missing is not None:
            return missing
        await self.sink.start()
        await audit_playback(
            self.calls.db,
            f"platform:{self.call.link.config.name}",
            self.plan,
            mode=self.mode,
            start=datetime.fromtimestamp(self.offer.start, UTC),
            end=datetime.fromtimestamp(self.offer.end, UTC),
            call=self.call_id,
        )
        lost = self.sink.lost
        muxer = PsMuxer(video="H264", audio="PCMA")
        packetizer = PsPacketizer(self.offer.ssrc_value)
        while True:
            getter = asyncio.ensure_future(self.playback.get())
            waiting: set[asyncio.Future[Any]] = {getter, lost}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if lost in done:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await getter
                return lost.result()
            try:
                frame = getter.result()
            except Exception:
                break  # the end of the range (or closed)
            pts, ps = muxer.mux(frame)
            await self.sink.send(packetizer.packetize(ps, pts))
            if frame.kind == "video":
                self.frames += 1
        if not self.playback.finished:
            return "the playback was closed"
        await self._notify_end()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.hung_up.wait(), END_GRACE)
        return "end of the recorded range"

    async def _notify_end(self) -> None:
        """MediaStatus 121 inside the INVITE dialog (same Call-ID, tags swapped)."""
        request = self.call.request
        link = self.call.link
        contact = request.header("Contact")
        uri = parse_name_addr(contact).uri.encode() if contact else link.server_uri
        to = parse_name_addr(request.header("To") or "").with_tag(self.local_tag).encode()
        self.cseq += 1
        message = link.build_request(
            "MESSAGE",
            uri=uri,
            call_id=request.call_id,
            cseq=self.cseq,
            from_header=to,
            to_header=request.header("From"),
            body=media_status_notify(link.next_sn(), self.gb_id, link.config.charset),
            content_type="Application/MANSCDP+xml",
        )
        self.notified_end = True
        with contextlib.suppress(SipTransportError, TimeoutError):
            await self.call.endpoint.request(message, self.call.peer, time_limit=5.0)

    async def end(self, reason: str, *, bye: bool, from_task: bool = False) -> None:
        """End once: stop reading and sending, BYE if the gateway ends it."""
        if self.ended is not None:
            return
        self.ended = reason
        log.info("%s of camera %s for %s ended: %s", self.mode, self.camera_id,
                 self.call.link.config.name, reason)  # fmt: skip
        self.calls.forget(self)
        if self.task is not None and not from_task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.playback.close()
        await self.sink.close()
        if bye and self.answered and not self.hung_up.is_set():
            await self._bye()

    async def _bye(self) -> None:
        self.cseq += 1
        await self.call.hang_up(self.local_tag, self.cseq)


class PlaybackCalls:
    """The ``Playback`` and ``Download`` handlers of :class:`InviteRouter`."""

    def __init__(
        self,
        dialogs: DialogTable,
        channels: ChannelSource,
        archive: RecordingArchive,
        *,
        bind_host: str,
        timers: Timers,
    ) -> None:
        self.dialogs = dialogs
        self.channels = channels
        self.db = channels.db
        self.archive = archive
        self.bind_host = bind_host
        self.timers = timers
        self._sessions: dict[str, PlaybackSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def register_on(self, router: InviteRouter) -> None:
        router.register("Playback", self.play)
        router.register("Download", self.play)

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget(self, session: PlaybackSession) -> None:
        self._sessions.pop(session.call_id, None)
        self.dialogs.remove(session.call_id, session)

    def sessions(self, platform_id: int | None = None) -> list[PlaybackSession]:
        return [
            s
            for s in self._sessions.values()
            if platform_id is None or s.call.link.config.id == platform_id
        ]

    async def close(self) -> None:
        await asyncio.gather(
            *(s.end("the gateway is stopping", bye=True) for s in list(self._sessions.values())),
            return_exceptions=True,
        )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def play(self, call: IncomingCall) -> None:
        link = call.link
        try:
            offer = parse_offer(
                call.request, parse_sdp(call.request.body), domain=link.config.domain
            )
        except OfferError as exc:
            await call.refuse(exc.status, exc.reason[:60])
            return
        if not 0 < offer.start < offer.end:
            await call.refuse(400, "Playback Needs A Time Range")
            return
        channel = await self.channels.channel(link.config, offer.channel_id)
        if channel is None:
            await call.refuse(404, "Channel Not Found")
            return
        start = datetime.fromtimestamp(offer.start, UTC)
        end = datetime.fromtimestamp(offer.end, UTC)
        plan = await plan_playback(self.db, self.archive, channel.camera_id, start, end)
        if plan.empty:
            await call.refuse(404, "No Recording In Range")
            return
        download = offer.session_name.lower() == "download"
        speed = min(max(offer.download_speed or 1, 1), MAX_DOWNLOAD_SPEED) if download else 1
        playback = RecordedPlayback(
            plan.segments, float(offer.start), float(offer.end), scale=float(speed)
        )
        try:
            sink = await open_sink(offer, self.bind_host)
        except OSError as exc:
            await playback.close()
            log.warning("cannot open a media port for %s: %s", offer.channel_id, exc)
            await call.refuse(486, "No Media Port")
            return
        session = PlaybackSession(
            self, call, offer, channel.camera_id, channel.gb_id, plan, playback, sink, new_tag()
        )
        self._sessions[session.call_id] = session
        self.dialogs.add(session.call_id, session)
        host = link.local_host()
        extra = (f"a=filesize:{plan.bytes}",) if download else ()
        body = answer_sdp(
            offer,
            channel_id=channel.gb_id,
            host=host,
            port=sink.local_port,
            video_codec="H264",
            audio_codec="PCMA",
            extra=extra,
        )
        if session.cancelled:
            await call.refuse(487)
            await session.end("cancelled before the answer", bye=False)
            return
        answer = response_to(
            call.request,
            200,
            to_tag=session.local_tag,
            headers=[
                ("Contact", f"<sip:{channel.gb_id}@{host}:{call.endpoint.port}>"),
                ("Content-Type", "application/sdp"),
            ],
            body=body,
        )
        session.answer = answer
        session.answered = True
        await call.respond(answer)
        log.info("%s of camera %s for %s, %s–%s, over %s", session.mode, channel.camera_id,
                 link.config.name, start.isoformat(), end.isoformat(), offer.transport)  # fmt: skip
        session.task = asyncio.ensure_future(session.run())
