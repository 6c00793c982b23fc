"""SipEndpoint: the gateway's SIP socket pair (UDP and TCP on one port) and transactions.

- **Client transactions** (:meth:`SipEndpoint.request`): the caller builds the request
  (with a Via whose branch is new), the endpoint sends it, retransmits it over UDP per
  RFC 3261 timers, and returns the final response — or raises
  :class:`SipTimeoutError` at 64·T1 / :class:`SipTransportError` when the TCP connection
  cannot be opened or drops.
- **Server transactions**: each received request goes to the handler in a task of its
  own (a slow answer never stalls the socket); :meth:`respond` sends the answer where the
  request came from (RFC 3581: the source address, i.e. ``received``/``rport``) and keeps
  it, so a retransmitted request gets the same answer without reaching the handler again.
- **TCP**: one connection per remote address, used both ways — the gateway opens one to a
  TCP platform and the platform's requests arrive on it (gb28181.md §2.10: NAT), and
  platforms may also connect to the listener.  A connection that drops is reported to
  ``on_disconnect`` (the registration over it is gone).
- Bad input never spreads: an unparseable datagram is dropped and logged, a TCP stream
  that cannot be framed is closed, a request without the headers a response needs is
  dropped; nothing of it reaches another transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from media import (
    SipFormatError,
    SipMessage,
    SipRequest,
    SipResponse,
    SipStreamDecoder,
    new_tag,
    parse_sip,
    response_to,
)

from ._transactions import Timers, client_key, retransmit_delays, server_key

__all__ = ["Peer", "SipEndpoint", "SipTimeoutError", "SipTransportError"]

log = logging.getLogger("uplink.sip")

RequestHandler = Callable[[SipRequest, "Peer"], Awaitable[None]]
DisconnectHandler = Callable[["Peer"], None]


class SipTransportError(ConnectionError):
    """The message could not be sent (no route, TCP refused or dropped)."""


class SipTimeoutError(SipTransportError, TimeoutError):
    """No final response within 64·T1."""


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from or goes to: ``transport`` is ``UDP`` or ``TCP``."""

    transport: str
    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[SipResponse]
    provisional: asyncio.Event = field(default_factory=asyncio.Event)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint._received(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable …
        log.debug("SIP UDP error: %s", exc)


class _TcpConnection:
    def __init__(
        self,
        endpoint: SipEndpoint,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: Peer,
    ) -> None:
        self.endpoint = endpoint
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.task: asyncio.Task[None] | None = None

    async def read_loop(self) -> None:
        decoder = SipStreamDecoder()
        try:
            while data := await self.reader.read(65536):
                for message in decoder.feed(data):
                    self.endpoint._dispatch(message, self.peer)
        except SipFormatError as exc:
            log.warning(
                "SIP over TCP from %s:%s cannot be framed, closing: %s", *self.peer.address, exc
            )
        except (ConnectionError, OSError):
            pass
        finally:
            self.writer.close()
            self.endpoint._tcp_closed(self)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


def _bare_answer(request: SipRequest, status: int, reason: str) -> SipResponse:
    """An answer copying the request's headers as text (its From or To do not parse, so
    :func:`media.response_to` cannot be used)."""
    headers = [("Via", v) for v in request.header_all("Via")]
    to = request.header("To") or ""
    if "tag=" not in to:
        to += ";tag=" + new_tag()
    headers += [("From", request.header("From") or ""), ("To", to)]
    headers += [("Call-ID", request.call_id), ("CSeq", request.header("CSeq") or "")]
    return SipResponse(status, reason, tuple(headers))


class SipEndpoint:
    def __init__(
        self,
        host: str,
        port: int,
        handler: RequestHandler,
        *,
        timers: Timers | None = None,
        on_disconnect: DisconnectHandler | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port  # the bound one after start()
        self._handler = handler
        self.timers = timers or Timers()
        self._on_disconnect = on_disconnect
        self._connect_timeout = connect_timeout
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._tcp: dict[tuple[str, int], _TcpConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Future[_TcpConnection]] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._answered: dict[tuple[str, str, str], tuple[float, SipResponse | None, Peer]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # ---------------------------------------------------------------- lifetime
    async def start(self) -> None:
        """Bind UDP and TCP on the same port (port 0: a free one, the same for both)."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port), reuse_port=False
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._server = await asyncio.start_server(
                    self._accepted, self.host, port, reuse_address=True
                )
            except OSError:
                transport.close()
                if self.port:
                    raise
                continue  # the free UDP port is taken on TCP: draw another
            self._udp, self.port = transport, port
            log.info("SIP endpoint on %s:%s (UDP and TCP)", self.host, port)
            return
        raise OSError("could not bind the same free port for SIP over UDP and TCP")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(SipTransportError("the SIP endpoint closed"))
        if self._server is not None:
            self._server.close()
        for conn in list(self._tcp.values()):
            conn.writer.close()
            if conn.task is not None:
                conn.task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *self._tasks, *(c.task for c in self._tcp.values() if c.task), return_exceptions=True
        )
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._udp is not None:
            self._udp.close()
            await asyncio.sleep(0)  # let the transport finish closing its socket

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------- addresses
    def local_host_for(self, peer: Peer) -> str:
        """The local address of the route to ``peer`` (what goes into Via/Contact)."""
        conn = self._tcp.get(peer.address)
        if conn is not None:
            sockname = conn.writer.get_extra_info("sockname")
            if sockname:
                return str(sockname[0])
        if self.host not in ("0.0.0.0", "", "::"):
            return self.host
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(peer.address)  # UDP connect sends nothing: a routing lookup
                return str(probe.getsockname()[0])
            except OSError:
                return "127.0.0.1"

    def local_port_for(self, peer: Peer) -> int:
        """The port to name in Via/Contact: the listening port (TCP replies may also use
        the connection, whose own port is ephemeral)."""
        return self.port

    # ---------------------------------------------------------------- sending
    async def _connection(self, peer: Peer) -> _TcpConnection:
        conn = self._tcp.get(peer.address)
        if conn is not None:
            return conn
        connecting = self._connecting.get(peer.address)
        if connecting is not None:
            return await asyncio.shield(connecting)
        future: asyncio.Future[_TcpConnection] = asyncio.get_running_loop().create_future()
        self._connecting[peer.address] = future
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(peer.host, peer.port), self._connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            error = SipTransportError(f"cannot connect to {peer.host}:{peer.port} over TCP: {exc}")
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it through shield
            raise error from None
        finally:
            self._connecting.pop(peer.address, None)
        conn = self._add_connection(reader, writer, peer)
        future.set_result(conn)
        return conn

    def _add_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> _TcpConnection:
        conn = _TcpConnection(self, reader, writer, peer)
        old = self._tcp.get(peer.address)
        if old is not None:
            old.writer.close()
        self._tcp[peer.address] = conn
        conn.task = asyncio.ensure_future(conn.read_loop())
        return conn

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        if self._closed or not address:
            writer.close()
            return
        self._add_connection(reader, writer, Peer("TCP", address[0], address[1]))

    def _tcp_closed(self, conn: _TcpConnection) -> None:
        if self._tcp.get(conn.peer.address) is conn:
            del self._tcp[conn.peer.address]
            if not self._closed and self._on_disconnect is not None:
                self._on_disconnect(conn.peer)

    def has_connection(self, peer: Peer) -> bool:
        return peer.address in self._tcp

    async def send(self, message: SipMessage, peer: Peer) -> None:
        """Send one message without a transaction (ACK, retransmitted answers)."""
        data = message.encode()
        if peer.transport == "UDP":
            if self._udp is None or self._closed:
                raise SipTransportError("the SIP endpoint is not running")
            self._udp.sendto(data, peer.address)
            return
        conn = await self._connection(peer)
        try:
            await conn.send(data)
        except (ConnectionError, OSError) as exc:
            raise SipTransportError(
                f"TCP connection to {peer.host}:{peer.port} broke: {exc}"
            ) from None

    async def request(
        self, request: SipRequest, peer: Peer, *, time_limit: float | None = None
    ) -> SipResponse:
        """Run a client transaction: the final response (1xx are waited through)."""
        key = client_key(request)
        invite = key[1] == "INVITE"
        pending = _Pending(asyncio.get_running_loop().create_future())
        self._pending[key] = pending
        limit = time_limit if time_limit is not None else self.timers.transaction_timeout
        try:
            await self.send(request, peer)
            if peer.transport != "UDP":
                return await asyncio.wait_for(asyncio.shield(pending.future), limit)
            deadline = time.monotonic() + limit
            for delay in retransmit_delays(self.timers, invite=invite):
                delay = min(delay, deadline - time.monotonic())
                if delay <= 0:
                    break
                done, _ = await asyncio.wait({pending.future}, timeout=delay)
                if done:
                    return pending.future.result()
                if not pending.provisional.is_set():
                    await self.send(request, peer)
            remaining = deadline - time.monotonic()
            return await asyncio.wait_for(asyncio.shield(pending.future), max(remaining, 0.001))
        except TimeoutError:
            raise SipTimeoutError(
                f"no answer from {peer.host}:{peer.port} to {request.method} within {limit:g} s"
            ) from None
        finally:
            self._pending.pop(key, None)
            if not pending.future.done():
                pending.future.cancel()

    async def respond(self, request: SipRequest, response: SipResponse, peer: Peer) -> None:
        """Answer a received request (and remember the answer for its retransmissions)."""
        with contextlib.suppress(SipFormatError):
            if response.status >= 200:
                self._answered[server_key(request)] = (time.monotonic(), response, peer)
        try:
            await self.send(response, peer)
        except SipTransportError as exc:
            log.info("could not answer %s from %s:%s: %s", request.method, *peer.address, exc)

    # -------------------------------------------------------------- receiving
    def _received(self, data: bytes, peer: Peer) -> None:
        try:
            message = parse_sip(data)
        except SipFormatError as exc:
            log.info("dropped a malformed SIP datagram from %s:%s: %s", *peer.address, exc)
            return
        if message is not None:
            self._dispatch(message, peer)

    def _dispatch(self, message: SipMessage, peer: Peer) -> None:
        try:
            if isinstance(message, SipResponse):
                self._on_response(message)
            else:
                self._on_request(message, peer)
        except SipFormatError as exc:
            log.info("dropped a SIP message from %s:%s: %s", *peer.address, exc)

    def _on_response(self, response: SipResponse) -> None:
        pending = self._pending.get(client_key(response))
        if pending is None or pending.future.done():
            return  # a late or stray answer
        if response.status < 200:
            pending.provisional.set()
        else:
            pending.future.set_result(response)

    def _on_request(self, request: SipRequest, peer: Peer) -> None:
        # the headers every answer copies must be there, or nothing can be answered
        _ = (request.call_id, request.header("From") or "", request.header("To") or "")
        cseq = request.cseq
        key = server_key(request)
        self._expire_answers()
        if request.header("From") is None or request.header("To") is None:
            return  # no answer can be built without them: dropped (logged by the caller)
        try:
            _ = (request.from_addr, request.to_addr)
        except SipFormatError as exc:
            if request.method.upper() != "ACK":
                self._spawn(
                    self.respond(request, _bare_answer(request, 400, "Bad From Or To"), peer)
                )
            log.info("answered 400 to %s from %s:%s: %s", request.method, *peer.address, exc)
            return
        if cseq.method.upper() != request.method.upper():
            self._spawn(
                self.respond(request, response_to(request, 400, "CSeq Method Mismatch"), peer)
            )
            return
        if request.method.upper() != "ACK" and key in self._answered:
            _, answer, _ = self._answered[key]
            if answer is not None:  # a retransmission: the same answer again
                self._spawn(self.send(answer, peer))
            return
        if request.method.upper() == "ACK" and key in self._answered:
            answer = self._answered[key][1]
            if answer is not None and answer.status >= 300:
                return  # the ACK of a refusal belongs to the INVITE transaction
        if request.method.upper() != "ACK":
            self._answered[key] = (time.monotonic(), None, peer)  # in progress
        self._spawn(self._handle(request, peer))

    async def _handle(self, request: SipRequest, peer: Peer) -> None:
        try:
            await self._handler(request, peer)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SIP %s handler failed", request.method)
            key = server_key(request)
            entry = self._answered.get(key)
            if request.method.upper() != "ACK" and (entry is None or entry[1] is None):
                await self.respond(request, response_to(request, 500), peer)

    def _expire_answers(self) -> None:
        horizon = time.monotonic() - self.timers.transaction_timeout
        if len(self._answered) > 64:
            for key in [k for k, v in self._answered.items() if v[0] < horizon]:
                del self._answered[key]
