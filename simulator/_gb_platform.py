"""A simulated GB/T 28181 upper platform (a Xueliang platform, a wvp) for tests and the
demo: it challenges registrations (MD5 digest, with or without qop, with an opaque),
answers keepalives like wvp (404 to a device it does not know: the gateway must register
again), and sends queries and INVITEs to the registered device.

In-process::

    platform = SimulatedPlatform(password="12345678", transport="udp")
    await platform.start()                    # platform.port: where it listens
    await platform.wait_registered(within=10)
    answer = await platform.query("Catalog")  # every Response page of that SN
    platform.restart()                        # forgets every registration
    platform.mute = True                      # answers nothing (the platform is down)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from ._gb_broadcast import ToneSender
from ._gb_media import MediaReceiver
from ._sip_wire import Msg, StreamFramer, check_digest, parse_msg

__all__ = ["BroadcastAudio", "DeviceRecord", "SimulatedPlatform"]

log = logging.getLogger("simulator.platform")


@dataclass
class DeviceRecord:
    """A registered device as the platform sees it."""

    device_id: str
    username: str
    call_id: str
    address: tuple[str, int]
    transport: str
    expires: int
    registered_at: float = field(default_factory=time.monotonic)
    keepalives: list[float] = field(default_factory=list)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, platform: SimulatedPlatform) -> None:
        self.platform = platform

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = parse_msg(data)
        if msg is not None:
            self.platform._on_message(msg, ("UDP", addr))


class SimulatedPlatform:
    def __init__(
        self,
        *,
        server_id: str = "34020000002000000001",
        domain: str | None = None,
        password: str = "12345678",
        transport: str = "udp",
        host: str = "127.0.0.1",
        port: int = 0,
        qop: bool = True,
        opaque: str | None = "5ccc069c403ebaf9f0171e9517f40e41",
        expires: int | None = None,
    ) -> None:
        self.server_id = server_id
        self.domain = domain or server_id[:10]
        self.password = password
        self.transport = transport.upper()
        self.host = host
        self.port = port
        self.qop = qop
        self.opaque = opaque
        self.expires = expires  # grant this instead of what the device asks
        self.mute = False
        self.devices: dict[str, DeviceRecord] = {}
        self.registers: list[Msg] = []  # every REGISTER received, in order
        self.unregistered: list[str] = []
        self.failures: list[str] = []  # why registrations were refused
        self.received: list[Msg] = []  # MESSAGEs other than keepalives
        self.byes: set[str] = set()  # Call-IDs the device hung up
        self.calls: dict[str, PlayCall] = {}  # INVITEs answered 200, by Call-ID
        self.broadcasts: dict[str, BroadcastAudio] = {}  # the device's INVITEs for audio
        self.auto_bye = True  # hang up when a playback's MediaStatus 121 arrives (wvp)
        self.broadcast_seconds = 3.0
        self.broadcast_frequency = 1000.0
        self._nonce = os.urandom(16).hex()
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._tcp: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._pending: dict[tuple[str, str], asyncio.Future[Msg]] = {}
        self._cseq = itertools.count(1)
        self._sn = itertools.count(100)

    # ---------------------------------------------------------------- lifetime
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        wanted = self.port
        for _ in range(20):  # port 0: UDP and TCP must get the same free port
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, wanted)
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._server = await asyncio.start_server(self._accepted, self.host, port)
            except OSError:
                transport.close()
                await asyncio.sleep(0)
                if wanted:
                    raise
                continue
            self._udp, self.port = transport, port
            return
        raise OSError("no port free on both UDP and TCP")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._tcp.values():
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._udp is not None:
            self._udp.close()
            await asyncio.sleep(0)

    async def __aenter__(self) -> SimulatedPlatform:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def restart(self) -> None:
        """Forget every registration and nonce, as a restarted platform does."""
        self.devices.clear()
        self._nonce = os.urandom(16).hex()

    def drop_connections(self) -> None:
        """Close every TCP connection devices opened (a platform restart, a NAT flush)."""
        for writer in list(self._tcp.values()):
            writer.close()

    # ----------------------------------------------------------------- waiting
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: object, within: float = 20.0) -> None:
        """Wait until ``predicate()`` is true (raises TimeoutError)."""
        assert callable(predicate)

        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(wait(), within)

    async def wait_registered(
        self, device_id: str | None = None, within: float = 20.0
    ) -> DeviceRecord:
        await self.wait_for(
            lambda: (device_id in self.devices) if device_id else bool(self.devices), within
        )
        return self.devices[device_id] if device_id else next(iter(self.devices.values()))

    # ---------------------------------------------------------------- plumbing
    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")[:2]
        self._tcp[addr] = writer
        framer = StreamFramer()
        try:
            while data := await reader.read(65536):
                for msg in framer.feed(data):
                    self._on_message(msg, ("TCP", addr))
        except (ConnectionError, OSError):
            pass
        finally:
            self._tcp.pop(addr, None)
            writer.close()

    def _send(self, msg: Msg, where: tuple[str, tuple[str, int]]) -> None:
        transport, addr = where
        if transport == "UDP":
            assert self._udp is not None
            self._udp.sendto(msg.encode(), addr)
        elif addr in self._tcp:
            self._tcp[addr].write(msg.encode())

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_message(self, msg: Msg, where: tuple[str, tuple[str, int]]) -> None:
        if self.mute:
            return
        if not msg.is_request:
            branch = _branch(msg)
            future = self._pending.get((branch, msg.cseq_method))
            if future is not None and not future.done() and msg.status >= 200:
                future.set_result(msg)
            return
        if msg.method == "REGISTER":
            self._on_register(msg, where)
        elif msg.method == "MESSAGE":
            self._on_manscdp(msg, where)
        elif msg.method == "BYE":
            self.byes.add(msg.call_id)
            self._send(msg.reply(200, "OK"), where)
        elif msg.method == "NOTIFY":
            self.received.append(msg)
            self._send(msg.reply(200, "OK"), where)
        elif msg.method == "INVITE":
            self._on_invite(msg, where)
        elif msg.method == "ACK":
            broadcast = self.broadcasts.get(msg.call_id)
            if broadcast is not None and broadcast.sender is not None and not broadcast.acked:
                broadcast.acked = True
                broadcast.sender.start()
        else:
            self._send(msg.reply(200, "OK"), where)
        self._spawn(self._notify())

    # ------------------------------------------------------------ registration
    def _challenge(self) -> str:
        qop = 'qop="auth",' if self.qop else ""
        opaque = f',opaque="{self.opaque}"' if self.opaque else ""
        return f'Digest realm="{self.domain}",{qop}nonce="{self._nonce}",algorithm=MD5{opaque}'

    def _on_register(self, msg: Msg, where: tuple[str, tuple[str, int]]) -> None:
        self.registers.append(msg)
        expires_text = msg.get("Expires")
        if expires_text is None or not expires_text.strip().isdigit():
            self._send(msg.reply(400, "Missing Expires"), where)  # as wvp does
            return
        device_id = msg.user("From")
        known = self.devices.get(device_id)
        authorization = msg.get("Authorization")
        if authorization is None:
            if known is not None and known.call_id == msg.call_id:
                self._registered(msg, where, device_id, known.username)  # wvp: same Call-ID
                return
            self._send(
                msg.reply(401, "Unauthorized", ("WWW-Authenticate", self._challenge())), where
            )
            return
        valid, username = check_digest(
            authorization,
            method="REGISTER",
            password=self.password,
            realm=self.domain,
            nonce=self._nonce,
            opaque=self.opaque,
        )
        if not valid:
            if f'nonce="{self._nonce}"' not in authorization:  # an old nonce: challenge again
                self._send(
                    msg.reply(401, "Unauthorized", ("WWW-Authenticate", self._challenge())), where
                )
                return
            self.failures.append(f"wrong password for {username}")
            log.info("refused device %s: wrong password", device_id)
            self._send(msg.reply(403, "Forbidden"), where)
            return
        self._registered(msg, where, device_id, username)

    def _registered(
        self, msg: Msg, where: tuple[str, tuple[str, int]], device_id: str, username: str
    ) -> None:
        expires = int((msg.get("Expires") or "0").strip())
        if expires == 0:
            self.devices.pop(device_id, None)
            self.unregistered.append(device_id)
            self._send(msg.reply(200, "OK", ("Expires", "0")), where)
            return
        granted = self.expires or expires
        known = self.devices.get(device_id)
        if known is not None and known.call_id == msg.call_id:  # a refresh
            known.address, known.transport, known.expires = where[1], where[0], granted
        else:
            log.info("device %s registered from %s:%s over %s", device_id, *where[1], where[0])
            self.devices[device_id] = DeviceRecord(
                device_id, username, msg.call_id, where[1], where[0], granted
            )
        date = datetime.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        self._send(
            msg.reply(200, "OK", ("Expires", str(granted)), ("Date", date),
                      ("Contact", msg.get("Contact") or "")),
            where,
        )  # fmt: skip

    # ---------------------------------------------------------------- messages
    def _on_manscdp(self, msg: Msg, where: tuple[str, tuple[str, int]]) -> None:
        device = self.devices.get(msg.user("From"))
        call = self.calls.get(msg.call_id)
        if call is not None:
            # inside an INVITE dialog: MediaStatus 121 at the end of a playback; wvp then
            # hangs up (auto_bye)
            self.received.append(msg)
            self._send(msg.reply(200, "OK"), where)
            if self.auto_bye and b"<NotifyType>121</NotifyType>" in msg.body:
                self._spawn(call.bye())
            return
        if device is None:
            self._send(msg.reply(404, "Not Found"), where)  # wvp: register first
            return
        if b"<CmdType>Keepalive</CmdType>" in msg.body:
            device.keepalives.append(time.monotonic())
            log.debug("keepalive from %s", device.device_id)
        else:
            self.received.append(msg)
        self._send(msg.reply(200, "OK"), where)

    # ---------------------------------------------------------------- broadcast
    async def broadcast(
        self, device: DeviceRecord, target_id: str, *, source_id: str | None = None,
        within: float = 15.0,
    ) -> tuple[str, BroadcastAudio | None]:  # fmt: skip
        """Send the Broadcast notify; the device's Result (``OK``/``ERROR``) and, when OK,
        the audio call it then INVITEs us for (the tone starts after its ACK)."""
        sn = next(self._sn)
        source = source_id or self.server_id
        text = (
            '<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Broadcast</CmdType>'
            f"\r\n<SN>{sn}</SN>\r\n<SourceID>{source}</SourceID>\r\n"
            f"<TargetID>{target_id}</TargetID>\r\n</Notify>\r\n"
        )
        msg = self.request(
            "MESSAGE", device, body=text.encode(), content_type="Application/MANSCDP+xml"
        )
        answer = await self.send_request(msg, device)
        if answer.status != 200:
            raise AssertionError(f"the device answered {answer.status} to the Broadcast")

        def response() -> Msg | None:
            for m in self.received:
                if m.method != "MESSAGE" or b"Broadcast" not in m.body:
                    continue
                element = m.xml()
                if element.tag == "Response" and element.findtext("SN") == str(sn):
                    return m
            return None

        await self.wait_for(lambda: response() is not None, within)
        found = response()
        assert found is not None
        result = (found.xml().findtext("Result") or "").strip()
        if result != "OK":
            return result, None
        await self.wait_for(lambda: any(b.source == source for b in self.broadcasts.values()),
                            within)  # fmt: skip
        audio = next(b for b in self.broadcasts.values() if b.source == source)
        return result, audio

    def _on_invite(self, msg: Msg, where: tuple[str, tuple[str, int]]) -> None:
        """The device asks for broadcast audio: answer with where the audio comes from."""
        subject = msg.get("Subject") or ""
        source = subject.split(",")[0].split(":")[0].strip()
        sdp: dict[str, str] = {}
        for line in msg.body.decode("utf-8", "replace").splitlines():
            if len(line) > 2 and line[1] == "=":
                sdp.setdefault(line[0], line[2:])
                if line.startswith("a=setup:"):
                    sdp["setup"] = line[8:].strip()
        if "m" not in sdp or not sdp["m"].startswith("audio") or not source:
            self._send(msg.reply(488, "Not Acceptable Here"), where)
            return
        self._send(msg.reply(100, "Trying"), where)
        host = sdp.get("c", "IN IP4 127.0.0.1").split()[-1]
        port = int(sdp["m"].split()[1])
        tcp = "TCP" in sdp["m"]
        audio = BroadcastAudio(source, msg, self)
        audio.sender = ToneSender(host, port, tcp=tcp, seconds=self.broadcast_seconds,
                                  frequency=self.broadcast_frequency)  # fmt: skip
        self.broadcasts[msg.call_id] = audio
        proto = "TCP/RTP/AVP" if tcp else "RTP/AVP"
        lines = [
            "v=0", f"o={self.server_id} 0 0 IN IP4 {self.host}", "s=Play",
            f"c=IN IP4 {self.host}", "t=0 0", f"m=audio 9 {proto} 8", "a=sendonly",
            "a=rtpmap:8 PCMA/8000/1",
        ]  # fmt: skip
        if tcp:
            lines += ["a=setup:active", "a=connection:new"]
        lines += [f"y={sdp.get('y', '0000000000')}", "f=v/////a/1/8/1"]
        body = ("\r\n".join(lines) + "\r\n").encode()
        audio.answer = msg.reply(
            200, "OK", ("Contact", f"<sip:{self.server_id}@{self.host}:{self.port}>"),
            ("Content-Type", "application/sdp"), body=body,
        )  # fmt: skip
        self._send(audio.answer, where)

    # ------------------------------------------------------------------ queries
    async def query(
        self,
        device: DeviceRecord,
        cmd_type: str,
        *,
        target: str | None = None,
        fields: str = "",
        root: str = "Query",
        charset: str = "GB2312",
        within: float = 15.0,
    ) -> list[tuple[Msg, ET.Element]]:
        """Send a MANSCDP query; every answer of its SN (all pages: until the items
        counted reach ``SumNum``), as (message, parsed body)."""
        sn = next(self._sn)
        text = (
            f'<?xml version="1.0" encoding="{charset}"?>\r\n<{root}>\r\n'
            f"<CmdType>{cmd_type}</CmdType>\r\n<SN>{sn}</SN>\r\n"
            f"<DeviceID>{target or device.device_id}</DeviceID>\r\n{fields}</{root}>\r\n"
        )
        msg = self.request(
            "MESSAGE", device, body=text.encode(charset), content_type="Application/MANSCDP+xml"
        )
        answer = await self.send_request(msg, device)
        if answer.status != 200:
            raise AssertionError(f"the device answered {answer.status} to the {cmd_type} query")

        def answers() -> list[tuple[Msg, ET.Element]]:
            out = []
            for m in self.received:
                element = m.xml()
                if element.findtext("CmdType") == cmd_type and element.findtext("SN") == str(sn):
                    out.append((m, element))
            return out

        def complete() -> bool:
            found = answers()
            if not found:
                return False
            total = found[0][1].findtext("SumNum")
            if total is None:
                return True
            items = 0
            for _, element in found:
                for tag in ("DeviceList", "RecordList"):
                    container = element.find(tag)
                    if container is not None:
                        items += len(list(container))
            return items >= int(total)

        await self.wait_for(complete, within)
        return answers()

    async def subscribe_catalog(self, device: DeviceRecord, expires: int = 600) -> Msg:
        """SUBSCRIBE to the device's catalog (``Event: Catalog``); the device's answer."""
        sn = next(self._sn)
        body = (
            '<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>'
            f"\r\n<SN>{sn}</SN>\r\n<DeviceID>{device.device_id}</DeviceID>\r\n</Query>\r\n"
        ).encode()
        msg = self.request(
            "SUBSCRIBE",
            device,
            body=body,
            content_type="Application/MANSCDP+xml",
            extra=(("Event", "Catalog;id=1"), ("Expires", str(expires))),
        )
        return await self.send_request(msg, device)

    def notifies(self) -> list[tuple[Msg, ET.Element]]:
        """Every catalog NOTIFY received, parsed."""
        return [(m, m.xml()) for m in self.received if m.method == "NOTIFY"]

    # -------------------------------------------------------------------- INVITE
    async def invite(
        self,
        device: DeviceRecord,
        channel_id: str,
        *,
        mode: str = "udp",
        ssrc: str | None = "0200009319",
        session: str = "Play",
        stream: int | None = None,
        ack: bool = True,
        within: float = 15.0,
        times: tuple[int, int] = (0, 0),
        download_speed: int | None = None,
    ) -> PlayCall:
        """INVITE a channel like wvp does; ``mode``: ``udp``, ``tcp-passive`` (we listen,
        the device connects) or ``tcp-active`` (the device listens, we connect after the
        200).  Returns the call (its answer, its media receiver)."""
        receiver = MediaReceiver(
            {"udp": "udp", "tcp-passive": "listen", "tcp-active": "connect"}[mode]
        )
        port = await receiver.open()
        proto = "RTP/AVP" if mode == "udp" else "TCP/RTP/AVP"
        lines = [
            "v=0",
            f"o={self.server_id} 0 0 IN IP4 {self.host}",
            f"s={session}",
            *([f"u={channel_id}:0"] if session != "Play" else []),
            f"c=IN IP4 {self.host}",
            f"t={times[0]} {times[1]}",
            f"m=video {port} {proto} 96 97 98 99",
            "a=recvonly",
            "a=rtpmap:96 PS/90000",
            "a=rtpmap:98 H264/90000",
            "a=rtpmap:97 MPEG4/90000",
            "a=rtpmap:99 H265/90000",
        ]
        if mode != "udp":
            lines += [f"a=setup:{mode.split('-')[1]}", "a=connection:new"]
        if stream is not None:
            lines.append(f"a=stream:{stream}")
        if download_speed is not None:
            lines.append(f"a=downloadspeed:{download_speed}")
        if ssrc is not None:
            lines.append(f"y={ssrc}")
        body = ("\r\n".join(lines) + "\r\n").encode()
        msg = self.request(
            "INVITE", device, to_user=channel_id, body=body, content_type="APPLICATION/SDP",
            extra=(("Subject", f"{channel_id}:{ssrc or '0'},{self.server_id}:0"),),
        )  # fmt: skip
        answer = await self.send_request(msg, device, within)
        call = PlayCall(self, device, msg, answer, receiver)
        if answer.status == 200:
            self.calls[call.call_id] = call
            if ack:
                self._send(
                    call.in_dialog("ACK", cseq=call.invite_cseq), (device.transport, device.address)
                )
            if mode == "tcp-active":
                host, media_port = call.answer_address
                await receiver.connect(host, media_port)
        else:
            await receiver.close()
        return call

    async def invite_then_cancel(
        self, device: DeviceRecord, channel_id: str, within: float = 10.0
    ) -> tuple[Msg, Msg]:
        """INVITE and, at once, CANCEL it: (the INVITE's final answer, the CANCEL's)."""
        receiver = MediaReceiver("udp")
        port = await receiver.open()
        body = (
            f"v=0\r\no={self.server_id} 0 0 IN IP4 {self.host}\r\ns=Play\r\n"
            f"c=IN IP4 {self.host}\r\nt=0 0\r\nm=video {port} RTP/AVP 96\r\n"
            "a=recvonly\r\na=rtpmap:96 PS/90000\r\ny=0200000009\r\n"
        ).encode()
        invite = self.request(
            "INVITE", device, to_user=channel_id, body=body, content_type="APPLICATION/SDP"
        )
        call = PlayCall(self, device, invite, invite, receiver)
        loop = asyncio.get_running_loop()
        futures = {
            "INVITE": loop.create_future(),
            "CANCEL": loop.create_future(),
        }
        branch = _branch(invite)
        for method, future in futures.items():
            self._pending[(branch, method)] = future
        where = (device.transport, device.address)
        try:
            self._send(invite, where)
            cancel_headers = [(k, v) for k, v in invite.headers
                              if k in ("Via", "From", "To", "Call-ID")]  # fmt: skip
            cancel_headers.append(("CSeq", f"{call.invite_cseq} CANCEL"))
            self._send(Msg(f"CANCEL {invite.uri} SIP/2.0", cancel_headers), where)
            answers = await asyncio.wait_for(asyncio.gather(*futures.values()), within)
        finally:
            for method in futures:
                self._pending.pop((branch, method), None)
            await receiver.close()
        final_invite, cancel_answer = answers
        self._send(PlayCall(self, device, invite, final_invite, receiver).in_dialog(
            "ACK", cseq=call.invite_cseq), where)  # fmt: skip
        return final_invite, cancel_answer

    def call_ended(self, call_id: str) -> bool:
        """Whether the device sent BYE for this call."""
        return call_id in self.byes

    # ----------------------------------------------------------------- requests
    def request(self, method: str, device: DeviceRecord, *, to_user: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                extra: tuple[tuple[str, str], ...] = ()) -> Msg:  # fmt: skip
        """A request from the platform to ``device`` (to one of its channels)."""
        branch = "z9hG4bK" + os.urandom(6).hex()
        transport = device.transport
        target = to_user or device.device_id
        headers = [
            ("Via", f"SIP/2.0/{transport} {self.host}:{self.port};rport;branch={branch}"),
            ("From", f"<sip:{self.server_id}@{self.domain}>;tag={os.urandom(4).hex()}"),
            ("To", f"<sip:{target}@{device.address[0]}:{device.address[1]}>"),
            ("Call-ID", os.urandom(8).hex()),
            ("CSeq", f"{next(self._cseq)} {method}"),
            ("Contact", f"<sip:{self.server_id}@{self.host}:{self.port}>"),
            ("Max-Forwards", "70"),
            *extra,
        ]
        if content_type:
            headers.append(("Content-Type", content_type))
        uri = f"sip:{target}@{device.address[0]}:{device.address[1]}"
        return Msg(f"{method} {uri} SIP/2.0", headers, body)

    async def send_request(self, msg: Msg, device: DeviceRecord, within: float = 10.0) -> Msg:
        """Send ``msg`` to the device and wait for its final answer (UDP: resent each 0.5 s)."""
        key = (_branch(msg), msg.method)
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        where = (device.transport, device.address)
        try:
            deadline = time.monotonic() + within
            while True:
                self._send(msg, where)
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(
                        asyncio.shield(future), 0.5 if device.transport == "UDP" else within
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the device did not answer {msg.method}")
        finally:
            self._pending.pop(key, None)


@dataclass(eq=False)
class BroadcastAudio:
    """The device's INVITE for broadcast audio, our answer, and the tone we send."""

    source: str
    invite: Msg
    platform: SimulatedPlatform
    answer: Msg | None = None
    sender: ToneSender | None = None
    acked: bool = False

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def ended_by_device(self) -> bool:
        return self.call_id in self.platform.byes

    async def bye(self) -> Msg:
        """Hang up from the platform's side (the device must give the floor back)."""
        assert self.answer is not None
        p = self.platform
        device = p.devices[self.invite.user("From")]
        branch = "z9hG4bK" + os.urandom(6).hex()
        headers = [
            ("Via", f"SIP/2.0/{device.transport} {p.host}:{p.port};rport;branch={branch}"),
            ("From", self.answer.get("To") or ""),
            ("To", self.invite.get("From") or ""),
            ("Call-ID", self.call_id),
            ("CSeq", "2 BYE"),
            ("Max-Forwards", "70"),
        ]
        contact = self.invite.get("Contact") or ""
        uri = contact.strip("<>").split(">")[0] if contact else self.invite.uri
        return await p.send_request(Msg(f"BYE {uri} SIP/2.0", headers), device)


class PlayCall:
    """A platform-side INVITE: the answer, the media received, and BYE."""

    def __init__(self, platform: SimulatedPlatform, device: DeviceRecord, invite: Msg,
                 answer: Msg, receiver: MediaReceiver) -> None:  # fmt: skip
        self.platform = platform
        self.device = device
        self.invite = invite
        self.answer = answer
        self.receiver = receiver
        self.invite_cseq = int((invite.get("CSeq") or "1").split()[0])
        self._cseq = self.invite_cseq

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def sdp(self) -> dict[str, str]:
        """The answer's SDP lines, first of each kind (``m``, ``c``, ``y``, ``f`` …)."""
        out: dict[str, str] = {}
        for line in self.answer.body.decode().splitlines():
            if len(line) > 2 and line[1] == "=":
                out.setdefault(line[0], line[2:])
        return out

    @property
    def answer_address(self) -> tuple[str, int]:
        sdp = self.sdp
        return sdp["c"].split()[-1], int(sdp["m"].split()[1])

    def in_dialog(self, method: str, *, cseq: int | None = None) -> Msg:
        branch = "z9hG4bK" + os.urandom(6).hex()
        p = self.platform
        headers = [
            ("Via", f"SIP/2.0/{self.device.transport} {p.host}:{p.port};rport;branch={branch}"),
            ("From", self.invite.get("From") or ""),
            ("To", self.answer.get("To") or ""),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq if cseq is not None else self._next()} {method}"),
            ("Max-Forwards", "70"),
        ]
        contact = self.answer.get("Contact") or ""
        uri = contact.strip("<>").split(">")[0] if contact else self.invite.uri
        return Msg(f"{method} {uri} SIP/2.0", headers)

    def _next(self) -> int:
        self._cseq += 1
        return self._cseq

    async def info(self, body: str) -> Msg:
        """A playback control (MANSRTSP in INFO), e.g. ``PAUSE RTSP/1.0``; the answer."""
        msg = self.in_dialog("INFO")
        msg.headers.append(("Content-Type", "Application/MANSRTSP"))
        msg.body = body.replace("\n", "\r\n").encode()
        return await self.platform.send_request(msg, self.device)

    def media_status(self) -> list[Msg]:
        """The in-dialog MediaStatus notifications received (121: end of file)."""
        return [
            m for m in self.platform.received
            if m.call_id == self.call_id and b"MediaStatus" in m.body
        ]  # fmt: skip

    async def bye(self) -> Msg:
        msg = self.in_dialog("BYE")
        return await self.platform.send_request(msg, self.device)

    async def cancel(self) -> Msg:
        """CANCEL the INVITE (same branch and CSeq number)."""
        invite = self.invite
        headers = [(k, v) for k, v in invite.headers if k in ("Via", "From", "To", "Call-ID")]
        headers.append(("CSeq", f"{self.invite_cseq} CANCEL"))
        msg = Msg(f"CANCEL {invite.uri} SIP/2.0", headers)
        return await self.platform.send_request(msg, self.device)


def _branch(msg: Msg) -> str:
    via = msg.get("Via") or ""
    for part in via.split(";"):
        if part.strip().startswith("branch="):
            return part.strip()[7:]
    return ""
