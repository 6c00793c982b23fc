"""The simulated platform's media side: it receives the device's RTP (PS, PT 96) over
UDP, over TCP where it listens (offer ``setup:passive``), or over TCP where it connects
(offer ``setup:active``), RFC 4571-framed, and keeps every packet for the checks."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass

__all__ = ["MediaReceiver", "RtpHeader", "rtp_header"]


@dataclass(frozen=True)
class RtpHeader:
    version: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def rtp_header(packet: bytes) -> RtpHeader:
    first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", packet[:12])
    count = first & 0x0F
    offset = 12 + 4 * count
    if first & 0x10:  # extension
        length = struct.unpack("!H", packet[offset + 2 : offset + 4])[0]
        offset += 4 + 4 * length
    end = len(packet) - (packet[-1] if first & 0x20 else 0)
    return RtpHeader(first >> 6, bool(second & 0x80), second & 0x7F, sequence, timestamp,
                     ssrc, packet[offset:end])  # fmt: skip


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, receiver: MediaReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.receiver._packet(data)


class MediaReceiver:
    """``mode``: ``udp``, ``listen`` (the device connects) or ``connect`` (we connect)."""

    def __init__(self, mode: str, host: str = "127.0.0.1") -> None:
        self.mode = mode
        self.host = host
        self.port = 0
        self.packets: list[bytes] = []
        self.connected = asyncio.Event()
        self.closed_by_peer = asyncio.Event()
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def open(self) -> int:
        """Bind (UDP) or listen (TCP); the port to offer (9 for ``connect``: unused)."""
        loop = asyncio.get_running_loop()
        if self.mode == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            # a platform's media server keeps big buffers: a 1080p keyframe is a burst
            for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
                if option is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, option, 8 * 1024 * 1024)
                        break
            sock.bind((self.host, 0))
            self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
            self.port = self._udp.get_extra_info("sockname")[1]
        elif self.mode == "listen":
            self._server = await asyncio.start_server(self._accepted, self.host, 0)
            self.port = self._server.sockets[0].getsockname()[1]
        else:
            self.port = 9
        return self.port

    async def connect(self, host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        await self._accepted(reader, writer)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.connected.set()
        self._task = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        try:
            while data := await reader.read(65536):
                buffer += data
                while len(buffer) >= 2:
                    length = struct.unpack("!H", buffer[:2])[0]
                    if len(buffer) < 2 + length:
                        break
                    self._packet(buffer[2 : 2 + length])
                    buffer = buffer[2 + length :]
        except (ConnectionError, OSError):
            pass
        self.closed_by_peer.set()

    def _packet(self, data: bytes) -> None:
        self.packets.append(data)
        self._arrived.set()

    async def wait_packets(self, count: int, within: float = 20.0) -> None:
        async def wait() -> None:
            while len(self.packets) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), within)

    def drop(self) -> None:
        """Close the TCP media connection from the platform's side."""
        if self._writer is not None:
            self._writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._udp is not None:
            self._udp.close()
            await asyncio.sleep(0)
