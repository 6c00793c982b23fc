"""Voice broadcast (语音广播, gb28181.md §6.1): a platform speaks into a room.

1. The platform's ``Notify``/``Broadcast`` (SourceID: the platform's voice source,
   TargetID: the camera's speaker channel, type 137, or the camera's own channel) is
   answered 200 by the router; the gateway takes the camera's **talk floor** at once —
   the same floor as browser talk-back — and answers ``Result OK``, or ``ERROR`` when
   someone else talks (or the camera cannot play sound).
2. The gateway INVITEs the platform for the audio: Request-URI and To the SourceID,
   Subject ``<SourceID>:<ssrc>,<TargetID>:0``, ``m=audio <port> RTP/AVP 8 96`` recvonly
   (over TCP ``a=setup:passive``: the gateway listens before it sends the INVITE, since
   wvp pushes the moment it answers).
3. 200 → ACK; the platform's G.711 (raw PT 8/0, or PS) goes through the floor to the
   camera's backchannel in steady 20 ms packets.
4. The broadcast ends on the platform's BYE, on a chair taking the floor (the gateway
   sends BYE), after ``talk_idle_seconds`` without audio, at the talk time limit, or when
   the platform does not answer the INVITE — the floor is given back each time.

The floor lives in ``sessions`` (same floor number as this package): ``gateway.app``
wires it in as a :class:`BroadcastFloor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import GatewayError
from media import (
    Manscdp,
    SdpError,
    SipRequest,
    SipResponse,
    broadcast_response,
    parse_name_addr,
    parse_sdp,
    response_to,
)

from ._broadcast_audio import BroadcastReceiver
from ._channels import Channel, ChannelSource, speaker_id
from ._dispatch import DialogTable, QueryRouter
from ._platform import PlatformLink
from ._transport import Peer, SipTransportError

__all__ = ["BroadcastCalls", "BroadcastFloor", "BroadcastSink"]

log = logging.getLogger("uplink.broadcast")

ANSWER_TIMEOUT = 10.0  # wvp gives the device 10 s for its INVITE; we give it as much


class BroadcastSink(Protocol):
    """A talker on the camera's floor (``sessions.BroadcastTalk`` is one)."""

    ended: asyncio.Event
    reason: str | None

    def feed(self, g711: bytes, codec: str) -> None: ...

    async def end(self, reason: str) -> None: ...


class BroadcastFloor(Protocol):
    """Takes a camera's talk floor for a platform; raises a :class:`GatewayError` (busy,
    offline, listen-only) when it cannot."""

    def __call__(
        self, camera_id: int, unit_code: str, *, actor: str, name: str, source: str
    ) -> Awaitable[BroadcastSink]: ...


def _ssrc(domain: str) -> str:
    digits = (domain + "0" * 10)[3:8]
    return f"0{digits}{int.from_bytes(os.urandom(2), 'big') % 10000:04d}"


def offer_sdp(target_id: str, host: str, port: int, ssrc: str, *, tcp: bool) -> bytes:
    protocol = "TCP/RTP/AVP" if tcp else "RTP/AVP"
    lines = [
        "v=0",
        f"o={target_id} 0 0 IN IP4 {host}",
        "s=Play",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} {protocol} 8 96",
        "a=recvonly",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:96 PS/90000",
    ]
    if tcp:
        lines += ["a=setup:passive", "a=connection:new"]
    lines += [f"y={ssrc}", "f=v/////a/1/8/1"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


@dataclass(eq=False)
class BroadcastCall:
    """One platform speaking into one room: the SIP dialog the gateway opened."""

    calls: BroadcastCalls
    link: PlatformLink
    channel: Channel
    source_id: str
    target_id: str
    talk: BroadcastSink
    receiver: BroadcastReceiver
    invite: SipRequest | None = None
    answer: SipResponse | None = None
    cseq: int = 1
    ended: str | None = None
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_id(self) -> str:
        return self.invite.call_id if self.invite is not None else ""

    def status(self) -> dict[str, Any]:
        return {
            "camera_id": self.channel.camera_id,
            "channel_id": self.target_id,
            "kind": "broadcast",
            "packets": self.receiver.packets,
        }

    async def on_request(self, request: SipRequest, peer: Peer) -> SipResponse | None:
        method = request.method.upper()
        if method == "BYE":
            self.calls.spawn(self.end("the platform hung up (BYE)", bye=False))
            return response_to(request, 200)
        if method == "ACK":
            return None
        return response_to(request, 200)

    async def run(self) -> None:
        """Wait for the end: the floor's (taken over, idle, time limit) or the media's."""
        lost = asyncio.ensure_future(self.receiver.disconnected.wait())
        ended = asyncio.ensure_future(self.talk.ended.wait())
        try:
            done, _ = await asyncio.wait({lost, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            ended.cancel()
        if ended in done:
            await self.end(self.talk.reason or "the talk floor ended the broadcast", bye=True,
                           from_task=True)  # fmt: skip
        else:
            await self.end("the platform closed the audio connection", bye=True, from_task=True)

    async def end(self, reason: str, *, bye: bool, from_task: bool = False) -> None:
        if self.ended is not None:
            return
        self.ended = reason
        log.info("broadcast into camera %s from %s ended: %s",
                 self.channel.camera_id, self.link.config.name, reason)  # fmt: skip
        self.calls.forget(self)
        if self.task is not None and not from_task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.receiver.close()
        await self.talk.end(reason)
        if bye and self.answer is not None:
            await self._bye()
        self.done.set()

    async def _bye(self) -> None:
        assert self.invite is not None and self.answer is not None
        contact = self.answer.header("Contact")
        uri = parse_name_addr(contact).uri.encode() if contact else self.invite.uri
        self.cseq += 1
        bye = self.link.build_request(
            "BYE",
            uri=uri,
            call_id=self.call_id,
            cseq=self.cseq,
            from_header=self.invite.header("From"),
            to_header=self.answer.header("To"),
        )
        with contextlib.suppress(SipTransportError, TimeoutError):
            await self.link.request(bye, time_limit=5.0)


class BroadcastCalls:
    """The ``Broadcast`` handler of :class:`QueryRouter` and the broadcasts it runs."""

    def __init__(
        self,
        dialogs: DialogTable,
        channels: ChannelSource,
        floor: BroadcastFloor,
        *,
        bind_host: str,
    ) -> None:
        self.dialogs = dialogs
        self.channels = channels
        self.floor = floor
        self.bind_host = bind_host
        self._calls: dict[int, BroadcastCall] = {}  # by id() until the INVITE names it
        self._tasks: set[asyncio.Task[None]] = set()

    def register_on(self, router: QueryRouter) -> None:
        router.register("Broadcast", self.on_broadcast)

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget(self, call: BroadcastCall) -> None:
        self._calls.pop(id(call), None)
        if call.invite is not None:
            self.dialogs.remove(call.call_id, call)

    def sessions(self, platform_id: int | None = None) -> list[BroadcastCall]:
        return [
            c
            for c in self._calls.values()
            if platform_id is None or c.link.config.id == platform_id
        ]

    async def close(self) -> None:
        await asyncio.gather(
            *(c.end("the gateway is stopping", bye=True) for c in list(self._calls.values())),
            return_exceptions=True,
        )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _target(self, link: PlatformLink, target_id: str) -> Channel | None:
        for channel in await self.channels.channels(link.config):
            if target_id in (channel.gb_id, speaker_id(channel.gb_id)):
                return channel
        return None

    async def on_broadcast(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        source_id = body.text("SourceID") or ""
        target_id = body.text("TargetID") or body.device_id or ""
        charset = link.config.charset

        async def answer(ok: bool) -> None:
            with contextlib.suppress(SipTransportError, TimeoutError):
                await link.send_manscdp(broadcast_response(body.sn, target_id, charset, ok=ok))

        channel = await self._target(link, target_id)
        if channel is None or not (len(source_id) == 20 and source_id.isdigit()):
            log.info("broadcast from %s refused: unknown target %s or source %s",
                     link.config.name, target_id, source_id)  # fmt: skip
            await answer(False)
            return
        try:
            talk = await self.floor(
                channel.camera_id,
                channel.unit_code,
                actor=f"platform:{link.config.name}",
                name=f"{link.config.name}（上级平台广播）",
                source=f"gb28181 broadcast from {source_id}",
            )
        except GatewayError as exc:
            # busy (someone talks), offline, or a camera without a speaker
            log.info("broadcast from %s into camera %s refused: %s",
                     link.config.name, channel.camera_id, exc.message)  # fmt: skip
            await answer(False)
            return
        receiver = BroadcastReceiver(talk.feed)
        call = BroadcastCall(self, link, channel, source_id, target_id, talk, receiver)
        self._calls[id(call)] = call
        await answer(True)
        self.spawn(self._invite(call))

    async def _invite(self, call: BroadcastCall) -> None:
        link = call.link
        tcp = link.peer.transport == "TCP"
        host = link.local_host()
        try:
            port = (
                await call.receiver.listen_tcp(self.bind_host)
                if tcp
                else await call.receiver.open_udp(self.bind_host)
            )
        except OSError as exc:
            await call.end(f"no audio port: {exc}", bye=False)
            return
        ssrc = _ssrc(link.config.domain)
        invite = link.build_request(
            "INVITE",
            uri=f"sip:{call.source_id}@{link.config.host}:{link.config.port}",
            to_user=call.source_id,
            cseq=call.cseq,
            headers=[("Subject", f"{call.source_id}:{ssrc},{call.target_id}:0")],
            body=offer_sdp(call.target_id, host, port, ssrc, tcp=tcp),
            content_type="APPLICATION/SDP",
        )
        call.invite = invite
        self.dialogs.add(invite.call_id, call)
        try:
            answer = await link.request(invite, time_limit=ANSWER_TIMEOUT)
        except (SipTransportError, TimeoutError) as exc:
            await call.end(f"the platform did not answer the broadcast INVITE: {exc}", bye=False)
            return
        if answer.status != 200:
            await call.end(f"the platform refused the broadcast INVITE ({answer.status})",
                           bye=False)  # fmt: skip
            return
        call.answer = answer
        await self._ack(call)
        try:
            sdp = parse_sdp(answer.body)
        except (SdpError, ValueError):
            await call.end("the platform's answer has no readable SDP", bye=True)
            return
        audio = next((m for m in sdp.media if m.kind == "audio"), None)
        if audio is None:
            await call.end("the platform's answer offers no audio", bye=True)
            return
        if 8 not in audio.payload_types and 0 in audio.payload_types:
            call.receiver.depacketizer.ps_codec = "PCMU"
        log.info("broadcast into camera %s from %s (%s)",
                 call.channel.camera_id, link.config.name, "tcp" if tcp else "udp")  # fmt: skip
        call.task = asyncio.ensure_future(call.run())

    async def _ack(self, call: BroadcastCall) -> None:
        assert call.invite is not None and call.answer is not None
        contact = call.answer.header("Contact")
        uri = parse_name_addr(contact).uri.encode() if contact else call.invite.uri
        ack = call.link.build_request(
            "ACK",
            uri=uri,
            call_id=call.call_id,
            cseq=call.cseq,
            from_header=call.invite.header("From"),
            to_header=call.answer.header("To"),
        )
        with contextlib.suppress(SipTransportError):
            await call.link.endpoint.send(ack, call.link.peer)
