"""Where a GB/T 28181 media stream goes: RTP (PS, PT 96) over UDP, or RFC 4571-framed
over TCP — the gateway connecting to the platform (offer ``setup:passive``) or listening
for it (offer ``setup:active``; the listener is open *before* the 200 OK, wvp connects
the moment it reads it).  Shared by live view and playback.

:func:`open_sink` binds the local port first, so the answer's ``m=`` names the port the
media really leaves from (wvp #150).  :meth:`RtpSink.start` then connects or accepts;
:meth:`RtpSink.send` writes whole packets and awaits ``drain`` on TCP, so a frame is never
half-written (ZLMediaKit #571/#694).  A TCP peer that closes, or a write that fails, sets
:attr:`RtpSink.lost` with the reason: the session ends cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from media import encode_rfc4571

from ._offer import MediaOffer

__all__ = ["MediaLostError", "RtpSink", "open_sink"]

log = logging.getLogger("uplink.media")

CONNECT_ATTEMPTS = 3  # GB/T 28181-2022 Annex D: ≥ 3 attempts, ≥ 1 s apart
CONNECT_INTERVAL = 1.0
ACCEPT_TIMEOUT = 20.0


class MediaLostError(ConnectionError):
    """The media connection is gone (or never came)."""


class _UdpProtocol(asyncio.DatagramProtocol):
    def error_received(self, exc: Exception) -> None:
        log.debug("RTP over UDP: %s", exc)


class RtpSink:
    """One media destination.  ``local_port`` is what the answer SDP advertises."""

    def __init__(self, offer: MediaOffer, host: str) -> None:
        self.offer = offer
        self.host = host
        self.local_port = 0
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._udp: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._accepted: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.get_running_loop().create_future()
        )
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.packets = 0
        self.bytes = 0

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self.offer.transport == "udp":
            transport, _ = await loop.create_datagram_endpoint(
                _UdpProtocol,
                local_addr=(self.host, 0),
                remote_addr=(self.offer.address, self.offer.port),
            )
            self._udp = transport
            self.local_port = transport.get_extra_info("sockname")[1]
        elif self.offer.transport == "tcp-listen":
            self._server = await asyncio.start_server(self._on_accept, self.host, 0)
            self.local_port = self._server.sockets[0].getsockname()[1]
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            self.local_port = sock.getsockname()[1]
            self._sock = sock

    async def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._accepted.done():
            writer.close()  # one platform connection per session
            return
        self._accepted.set_result((reader, writer))

    async def start(self) -> None:
        """Connect (retrying) or wait for the platform's connection; UDP needs nothing."""
        if self.offer.transport == "udp":
            return
        if self.offer.transport == "tcp-listen":
            try:
                reader, writer = await asyncio.wait_for(self._accepted, ACCEPT_TIMEOUT)
            except TimeoutError:
                raise MediaLostError(
                    f"the platform did not connect to port {self.local_port} within "
                    f"{ACCEPT_TIMEOUT:g} s"
                ) from None
            finally:
                if self._server is not None:
                    self._server.close()
        else:
            reader, writer = await self._connect()
        self._writer = writer
        self._reader_task = asyncio.ensure_future(self._watch(reader))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        target = (self.offer.address, self.offer.port)
        last: OSError | None = None
        for attempt in range(CONNECT_ATTEMPTS):
            sock = self._sock or socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock = None
            if sock.getsockname()[1] == 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                with contextlib.suppress(OSError):
                    sock.bind((self.host, self.local_port))
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, target), 5.0)
                return await asyncio.open_connection(sock=sock)
            except (OSError, TimeoutError) as exc:
                sock.close()
                last = exc if isinstance(exc, OSError) else OSError(str(exc) or "timed out")
                if attempt + 1 < CONNECT_ATTEMPTS:
                    await asyncio.sleep(CONNECT_INTERVAL)
        raise MediaLostError(
            f"cannot connect to the platform's media port {target[0]}:{target[1]}: {last}"
        )

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        """The platform sends nothing we need on this connection; its end is the news."""
        try:
            while await reader.read(4096):
                pass
            reason = "the platform closed the media connection"
        except (ConnectionError, OSError) as exc:
            reason = f"the media connection broke: {exc}"
        if not self.lost.done():
            self.lost.set_result(reason)

    async def send(self, packets: list[bytes]) -> None:
        """Send one frame's RTP packets (all or nothing on TCP: framed, then drained)."""
        if self._udp is not None:
            for packet in packets:
                self._udp.sendto(packet)
        elif self._writer is not None:
            self._writer.write(b"".join(encode_rfc4571(p) for p in packets))
            try:
                await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                if not self.lost.done():
                    self.lost.set_result(f"the media connection broke: {exc}")
                raise MediaLostError(str(exc)) from None
        else:
            raise MediaLostError("the media connection is not open")
        self.packets += len(packets)
        self.bytes += sum(len(p) for p in packets)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._udp is not None:
            self._udp.close()
            await asyncio.sleep(0)
        if not self._accepted.done():
            self._accepted.cancel()
        if not self.lost.done():
            self.lost.cancel()


async def open_sink(offer: MediaOffer, host: str) -> RtpSink:
    """A sink with its local port bound (and, for ``tcp-listen``, already listening)."""
    sink = RtpSink(offer, host)
    await sink._bind()
    return sink
