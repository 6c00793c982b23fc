"""The audio of a GB/T 28181 voice broadcast (语音广播), as the platform sends it.

After the Broadcast query, the gateway invites the platform for the audio; the platform
then sends G.711 in RTP — raw (PT 8 PCMA, PT 0 PCMU: wvp and most platforms) or inside
MPEG-PS (PT 96: Hikvision and Dahua platforms) — over UDP, or over TCP framed by RFC 4571
(where the gateway listens, ``a=setup:passive``, or connects, ``a=setup:active``).

:class:`BroadcastDepacketizer` is the pure core: RTP packets in, G.711 out, duplicates
and late packets dropped.  :class:`BroadcastReceiver` is the socket around it; it hands
each piece of audio to ``on_audio(g711, codec)`` (the talk floor's broadcast talker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from media import (
    MediaFormatError,
    PsDemuxer,
    Rfc4571Decoder,
    parse_rtp,
    sequence_delta,
)

__all__ = ["BroadcastDepacketizer", "BroadcastReceiver"]

log = logging.getLogger("gateway.uplink.broadcast")

RAW = {0: "PCMU", 8: "PCMA"}
MAX_TCP_BUFFER = 256 * 1024


class BroadcastDepacketizer:
    """RTP packets of a broadcast → ``(g711, codec)`` pieces.  Pure.

    ``ps_codec`` is the law to assume for PS audio whose map says nothing (type 0), as
    the SDP declared it (``PCMA`` unless told otherwise).
    """

    __slots__ = ("_demux", "_highest", "_ssrc", "bad", "late", "packets", "ps_codec")

    def __init__(self, *, ps_codec: str = "PCMA") -> None:
        self.ps_codec = ps_codec
        self._demux = PsDemuxer()
        self._highest: int | None = None
        self._ssrc: int | None = None
        self.packets = 0
        self.late = 0  # duplicates and packets older than the newest one played
        self.bad = 0  # not RTP, or PS beyond repair

    def feed(self, data: bytes | memoryview) -> list[tuple[bytes, str]]:
        try:
            packet = parse_rtp(data)
        except MediaFormatError:
            self.bad += 1
            return []
        if packet.ssrc != self._ssrc:
            # a new source (the platform restarted its sender): start over
            self._ssrc = packet.ssrc
            self._highest = None
            self._demux.reset()
        if self._highest is not None and sequence_delta(self._highest, packet.sequence) <= 0:
            self.late += 1
            return []
        self._highest = packet.sequence
        self.packets += 1
        raw = RAW.get(packet.payload_type)
        if raw is not None:
            return [(bytes(packet.payload), raw)]
        try:
            frames = self._demux.feed(packet.payload)
        except MediaFormatError:
            self.bad += 1
            self._demux.reset()
            return []
        out = []
        for frame in frames:
            if frame.kind != "audio":
                continue
            codec = frame.codec
            if codec not in ("PCMA", "PCMU"):
                if frame.stream_type != 0:
                    continue  # AAC or another codec: a G.711 speaker cannot play it
                codec = self.ps_codec
            out.append((frame.data, codec))
        return out


AudioSink = Callable[[bytes, str], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, receiver: BroadcastReceiver) -> None:
        self._receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._receiver._packet(data)


class _Tcp(asyncio.Protocol):
    def __init__(self, receiver: BroadcastReceiver) -> None:
        self._receiver = receiver
        self._frames = Rfc4571Decoder()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self._receiver._tcp is not None:
            transport.close()  # one sender per broadcast
            return
        self.transport = transport
        self._receiver._tcp = transport

    def data_received(self, data: bytes) -> None:
        try:
            packets = self._frames.feed(data)
        except MediaFormatError as exc:
            log.info("broadcast: RFC 4571 stream broken: %s", exc)
            if self.transport is not None:
                self.transport.close()
            return
        if self._frames.buffered > MAX_TCP_BUFFER and self.transport is not None:
            self.transport.close()
            return
        for packet in packets:
            self._receiver._packet(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._receiver._tcp is self.transport:
            self._receiver._tcp = None
            self._receiver.disconnected.set()


class BroadcastReceiver:
    """Where the platform's broadcast audio arrives: one UDP port, or one TCP connection.

    ``await open_udp(host)`` / ``await listen_tcp(host)`` return the local port to put in
    the SDP; ``await connect_tcp(host, port)`` dials the platform.  ``close()`` is
    idempotent and leaves nothing open.
    """

    def __init__(self, on_audio: AudioSink, *, ps_codec: str = "PCMA") -> None:
        self._on_audio = on_audio
        self.depacketizer = BroadcastDepacketizer(ps_codec=ps_codec)
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._tcp: asyncio.Transport | None = None
        self.disconnected = asyncio.Event()  # a TCP sender went away
        self.last_packet_at: float | None = None
        self.bytes_out = 0

    @property
    def packets(self) -> int:
        return self.depacketizer.packets

    def _packet(self, data: bytes | memoryview) -> None:
        self.last_packet_at = time.monotonic()
        for g711, codec in self.depacketizer.feed(data):
            self.bytes_out += len(g711)
            try:
                self._on_audio(g711, codec)
            except Exception:
                log.exception("broadcast audio could not be played")

    async def open_udp(self, host: str, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(host, port)
        )
        self._udp = transport
        return int(transport.get_extra_info("sockname")[1])

    async def listen_tcp(self, host: str, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Tcp(self), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def connect_tcp(self, host: str, port: int) -> None:
        """Dial the platform (``a=setup:active`` on our side); callers bound the wait."""
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: _Tcp(self), host, port)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()
