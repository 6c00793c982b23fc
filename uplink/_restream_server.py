"""The RTSP restream server: platforms and NVRs pull the cameras from the gateway.

``rtsp://gateway:8554/cameras/{id}`` (main) and ``…/cameras/{id}/sub`` (sub), RTP over
TCP interleaved or UDP, Digest authentication with one account per pulling machine,
scoped to the account's unit, every pull audited.  Readers ride on the camera's hub:
the camera is never connected to a second time.

Each RTSP connection is an :class:`asyncio.Protocol`; its requests are answered in order
by one task of its own (authentication reads the database).  A malformed request is
answered 400 and closes that connection only.  A session lives as long as its
connection and at most ``session_timeout`` seconds after the reader was last heard
from (any request, RTCP over TCP or UDP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from camera_registry import CameraError, CameraManager, HubLease
from core import Database, contains, record
from media import (
    RtspFormatError,
    RtspRequest,
    RtspStreamDecoder,
    encode_response,
    parse_www_authenticate,
    verify_digest,
)
from uplink._restream_accounts import RestreamAccounts, RestreamCredential
from uplink._restream_session import Output, RestreamSession
from uplink._restream_wire import (
    NonceBook,
    RestreamPath,
    RestreamTrack,
    TransportError,
    build_sdp,
    offered_tracks,
    parse_path,
    parse_transport,
)

__all__ = ["Owner", "RestreamServer"]

log = logging.getLogger("gateway.restream")

REALM = "zongzhi-gateway"
SERVER = "zongzhi-gateway restream"
PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
MAX_PENDING = 16  # requests queued on one connection before it is cut
MAX_AUTH_FAILURES = 5  # wrong passwords on one connection before it is cut
TRACKS_WAIT = 10.0  # seconds DESCRIBE waits for a starting sub stream's tracks


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def _answer(status: int, reason: str, *headers: tuple[str, str], body: bytes = b"") -> _Answer:
    return _Answer(status, reason, headers, body)


class _Datagram(asyncio.DatagramProtocol):
    """A reader's UDP socket: what arrives (RTCP receiver reports) says it is alive."""

    def __init__(self, heard: Callable[[], None]) -> None:
        self._heard = heard

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._heard()

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable from a reader that left: the timeout ends it


class _Connection(asyncio.Protocol):
    def __init__(self, server: RestreamServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.decoder = RtspStreamDecoder()
        self.pending: deque[RtspRequest] = deque()
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.session: RestreamSession | None = None
        self.leases: dict[str, HubLease] = {}  # DESCRIBEd sub streams kept warm for SETUP
        self.credential: RestreamCredential | None = None
        self.auth_failures = 0
        self.last_heard = time.monotonic()
        self.peer = ("", 0)
        self.local = ("", 0)
        self.closed = False

    # ------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.peer, self.local = (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1]))
        self.server._connections.add(self)
        self.task = asyncio.create_task(self._serve(), name=f"restream conn {self.peer}")

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        try:
            items = self.decoder.feed(data)
        except RtspFormatError as exc:
            log.info("restream: malformed RTSP from %s: %s", self.peer[0], exc)
            self.write(encode_response(400, "Bad Request", [("Server", SERVER)]))
            self.close()
            return
        for item in items:
            if isinstance(item, RtspRequest):
                if len(self.pending) >= MAX_PENDING:
                    self.close()
                    return
                self.pending.append(item)
                self.wakeup.set()
            elif isinstance(item, tuple) and self.session is not None:
                self.session.touch()  # RTCP receiver reports over TCP

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    # ------------------------------------------------------------------- plumbing
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def close(self, reason: str = "connection closed") -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.server._connections.discard(self)
        for lease in self.leases.values():
            lease.release()
        self.leases.clear()
        if self.session is not None:
            self.server._end(self.session, reason)
            self.session = None
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    async def _serve(self) -> None:
        try:
            while not self.closed:
                await self.wakeup.wait()
                self.wakeup.clear()
                while self.pending and not self.closed:
                    request = self.pending.popleft()
                    answer = await self.server._handle(self, request)
                    headers = [("CSeq", request.header("CSeq") or "0"), ("Server", SERVER)]
                    self.write(
                        encode_response(
                            answer.status,
                            answer.reason,
                            [*headers, *answer.headers],
                            answer.body,
                        )
                    )
                    if answer.status == 400:
                        self.close()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("restream connection from %s failed", self.peer[0])
            self.close()


@dataclass(frozen=True, slots=True)
class Owner:
    """Where the process that runs a camera takes RTSP pulls: its host and own port.

    ``host`` None means this box (a sibling worker): the reader keeps the host it used.
    """

    host: str | None
    port: int

    def url(self, conn: _Connection, request_url: str) -> str:
        parts = urlsplit(request_url)
        used = parts.hostname or conn.local[0]
        host = self.host or used
        if ":" in host:
            host = f"[{host}]"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"rtsp://{host}:{self.port}{path}"


class RestreamServer:
    """The RTSP server; ``await start()`` listens, ``await close()`` ends every pull."""

    def __init__(
        self,
        cameras: CameraManager,
        db: Database,
        accounts: RestreamAccounts,
        nonce_key: bytes,
        *,
        host: str = "0.0.0.0",
        port: int = 8554,
        session_timeout: float = 60.0,
        max_connections: int = 256,
        reuse_port: bool = False,
        own_port: int | None = None,
        locate: Callable[[int], Awaitable[Owner | None]] | None = None,
    ) -> None:
        self._cameras = cameras
        self._db = db
        self._accounts = accounts
        self._nonces = NonceBook(nonce_key)
        self.host = host
        self.port = port
        self.session_timeout = session_timeout
        self.max_connections = max_connections
        self._reuse_port = reuse_port or own_port is not None
        self.own_port = own_port
        self._locate = locate
        self._server: asyncio.Server | None = None
        self._own_server: asyncio.Server | None = None
        self.error: str | None = None  # why it does not listen
        self._connections: set[_Connection] = set()
        self.sessions: dict[str, RestreamSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- lifetime
    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._accept, self.host, self.port, reuse_port=self._reuse_port or None
            )
        except OSError as exc:
            # The rest of the gateway serves on; the page and /api/restream say why not.
            self.error = f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            log.error("restream: %s", self.error)
            return
        self.error = None
        self.port = int(self._server.sockets[0].getsockname()[1])
        if self.own_port is not None:
            try:
                self._own_server = await loop.create_server(self._accept, self.host, self.own_port)
            except OSError as exc:
                # pulls still work on the shared port; redirects to this process do not
                self.error = f"cannot listen on {self.host}:{self.own_port}: {exc.strerror or exc}"
                log.error("restream: %s", self.error)
            else:
                self.own_port = int(self._own_server.sockets[0].getsockname()[1])
        self._sweeper = asyncio.create_task(self._sweep(), name="restream sweeper")
        log.info("restream listening on %s:%d", self.host, self.port)

    def _accept(self) -> asyncio.Protocol:
        connection = _Connection(self)
        if len(self._connections) >= self.max_connections:
            # answered and closed as soon as it is made; others are not disturbed
            connection.closed = True
        return _Refuser() if connection.closed else connection

    async def close(self) -> None:
        """Stop listening, end every session (audited), leave no task behind; idempotent."""
        server, self._server = self._server, None
        own, self._own_server = self._own_server, None
        for listener in (server, own):
            if listener is not None:
                listener.close()
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        for connection in list(self._connections):
            connection.close("the gateway is stopping")
        for session in list(self.sessions.values()):
            self._end(session, "the gateway is stopping")
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for listener in (server, own):
            if listener is not None:
                await listener.wait_closed()

    @property
    def advertised_port(self) -> int | None:
        """The port that reaches this process alone (where siblings redirect readers)."""
        if self._server is None:
            return None
        if self.own_port is None:
            return self.port
        return self.own_port if self._own_server is not None else None

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def disconnect_account(self, account_id: int, reason: str) -> int:
        """End the pulls of an account (revoked); returns how many ended."""
        ended = 0
        for connection in list(self._connections):
            cred = connection.credential
            if cred is not None and cred.account_id == account_id:
                connection.close(reason)
                ended += 1
        return ended

    async def _sweep(self) -> None:
        """Every few seconds: end sessions whose reader went silent, close idle
        connections, and cut the pulls of accounts revoked (by any process)."""
        rounds = 0
        while True:
            await asyncio.sleep(min(5.0, self.session_timeout / 4))
            rounds += 1
            now = time.monotonic()
            for connection in list(self._connections):
                session = connection.session
                heard = max(connection.last_heard, session.last_seen if session else 0.0)
                if now - heard > self.session_timeout:
                    connection.close(
                        f"timeout: nothing from the reader for {self.session_timeout:.0f} s"
                    )
            for session in list(self.sessions.values()):
                if now - session.last_seen > self.session_timeout:
                    self._end(
                        session,
                        f"timeout: nothing from the reader for {self.session_timeout:.0f} s",
                    )
            if rounds % 2 == 0:
                ids = {s.credential.account_id for s in self.sessions.values()}
                try:
                    async with self._db.read() as db_session:
                        gone = await self._accounts.revoked_among(db_session, ids)
                except Exception:
                    log.exception("restream: could not check for revoked accounts")
                    continue
                for account_id in gone:
                    await self.disconnect_account(account_id, "the restream account was revoked")

    # ------------------------------------------------------------------ sessions
    def _end(self, session: RestreamSession, reason: str) -> None:
        """End a session now (sockets, hub lease) and audit its end in the background."""
        if self.sessions.pop(session.id, None) is None:
            return
        self._spawn(self._finish(session, reason), f"restream end {session.id[:8]}")

    async def _finish(self, session: RestreamSession, reason: str) -> None:
        await session.close()
        if session.start_audit is not None:
            await asyncio.gather(session.start_audit, return_exceptions=True)  # start first
        log.info(
            "restream pull ended",
            extra={"camera": session.path.camera_id, "session": session.id[:8], "reason": reason},
        )
        if session.started_at is None:
            return  # never played: nothing was watched
        try:
            async with self._db.transaction() as db_session:
                await record(
                    db_session,
                    session.credential.actor,
                    "restream.pull.stop",
                    object_type="camera",
                    object_id=session.path.camera_id,
                    unit_code=session.unit_code,
                    detail={
                        "session": session.id[:8],
                        "stream": session.path.stream,
                        "reason": reason,
                        "seconds": round(time.monotonic() - session.started_at, 1),
                        "bytes": session.bytes_sent,
                        "dropped_frames": session.dropped_frames,
                    },
                )
        except Exception:
            log.exception("could not audit the end of a restream pull")

    def _ended_by_pump(self, session: RestreamSession, reason: str) -> None:
        for connection in list(self._connections):
            if connection.session is session:
                connection.session = None
        self._end(session, reason)

    # ------------------------------------------------------------------ requests
    async def _handle(self, conn: _Connection, request: RtspRequest) -> _Answer:
        if request.cseq is None:
            return _answer(400, "Bad Request")
        method = request.method
        if method == "OPTIONS":
            if conn.session is not None:
                conn.session.touch()
            return _answer(200, "OK", ("Public", PUBLIC))
        if method not in PUBLIC.split(", "):
            return _answer(405, "Method Not Allowed", ("Allow", PUBLIC))
        challenge = await self._authenticate(conn, request)
        if challenge is not None:
            return challenge
        assert conn.credential is not None
        if method == "DESCRIBE":
            return await self._describe(conn, request)
        if method == "SETUP":
            return await self._setup(conn, request)
        session = conn.session
        wanted = (request.header("Session") or "").split(";")[0].strip()
        if session is None or (wanted and wanted != session.id):
            if method == "GET_PARAMETER" and not wanted:
                return _answer(200, "OK")  # a keepalive before SETUP
            return _answer(454, "Session Not Found")
        session.touch()
        session_header = ("Session", f"{session.id};timeout={int(self.session_timeout)}")
        if method == "PLAY":
            return await self._play(conn, session, request, session_header)
        if method == "PAUSE":
            await session.pause()
            return _answer(200, "OK", session_header)
        if method == "TEARDOWN":
            conn.session = None
            self._end(session, "TEARDOWN")
            return _answer(200, "OK", session_header)
        return _answer(200, "OK", session_header)  # GET_PARAMETER / SET_PARAMETER

    async def _authenticate(self, conn: _Connection, request: RtspRequest) -> _Answer | None:
        """None when the request proves an active account's password, else the answer."""
        header = request.header("Authorization")
        stale = False
        if header:
            params = next(iter(parse_www_authenticate([header])), None)
            name = params.params.get("username", "") if params else ""
            nonce = params.params.get("nonce", "") if params else ""
            verdict = self._nonces.check(nonce)
            if params is not None and params.scheme == "digest" and verdict == "ok":
                cred = conn.credential
                if cred is None or cred.name != name:
                    async with self._db.read() as db_session:
                        cred = await self._accounts.credential(db_session, name)
                if cred is not None and verify_digest(
                    header,
                    method=request.method,
                    password=cred.password,
                    realm=REALM,
                    username=cred.name,
                ):
                    conn.credential = cred
                    return None
                conn.auth_failures += 1
                log.warning(
                    "restream: wrong credentials from %s for account %r", conn.peer[0], name[:64]
                )
                if conn.auth_failures == 1:
                    self._spawn(self._audit_failure(conn, name), "restream auth audit")
                if conn.auth_failures >= MAX_AUTH_FAILURES:
                    conn.close("too many wrong passwords")
            stale = verdict == "stale"
        value = f'Digest realm="{REALM}", nonce="{self._nonces.issue()}", algorithm=MD5'
        if stale:
            value += ", stale=TRUE"
        return _answer(401, "Unauthorized", ("WWW-Authenticate", value))

    async def _audit_failure(self, conn: _Connection, name: str) -> None:
        try:
            async with self._db.transaction() as db_session:
                await record(
                    db_session,
                    f"restream:{name[:64]}",
                    "restream.auth_failed",
                    object_type="restream_account",
                    object_id=name[:64],
                    detail={"client": conn.peer[0]},
                )
        except Exception:
            log.exception("could not audit a failed restream sign-in")

    async def _resolve(
        self, conn: _Connection, url: str
    ) -> tuple[RestreamPath, str, str, HubLease] | _Answer:
        """The path, camera unit and name, and a hub lease for the URL, or the refusal."""
        path = parse_path(url)
        cred = conn.credential
        assert cred is not None
        not_found = _answer(404, "Not Found")
        if path is None:
            return not_found
        try:
            spec = self._cameras.spec(path.camera_id)
            online = self._cameras.state(path.camera_id).online
        except CameraError:
            # run by another process: send the reader there (it checks the account again)
            owner = await self._locate(path.camera_id) if self._locate is not None else None
            if owner is None:
                return not_found
            return _answer(302, "Moved Temporarily", ("Location", owner.url(conn, url)))
        if not contains(cred.unit_code, spec.unit_code):
            return not_found  # outside the account's scope: as if it did not exist
        if not online:
            return _answer(503, "Service Unavailable", ("Retry-After", "10"))
        key = path.base
        lease = conn.leases.get(key)
        if lease is None:
            try:
                lease = await self._cameras.acquire_hub(path.camera_id, path.stream)
            except CameraError:
                return _answer(503, "Service Unavailable")
            conn.leases[key] = lease
        return path, spec.unit_code, spec.name, lease

    async def _tracks(self, lease: HubLease) -> list[RestreamTrack]:
        deadline = time.monotonic() + TRACKS_WAIT
        while True:
            tracks = offered_tracks(lease.hub.tracks)
            if tracks or time.monotonic() > deadline:
                return tracks
            await asyncio.sleep(0.1)

    async def _describe(self, conn: _Connection, request: RtspRequest) -> _Answer:
        resolved = await self._resolve(conn, request.url)
        if isinstance(resolved, _Answer):
            return resolved
        path, _unit, name, lease = resolved
        tracks = await self._tracks(lease)
        if not tracks:
            return _answer(503, "Service Unavailable", ("Retry-After", "10"))
        base = self._base_url(conn, request.url, path)
        sdp = build_sdp(tracks, session_id=int(time.time()), host=conn.local[0], name=name)
        return _answer(
            200,
            "OK",
            ("Content-Base", base + "/"),
            ("Content-Type", "application/sdp"),
            body=sdp,
        )

    def _base_url(self, conn: _Connection, url: str, path: RestreamPath) -> str:
        parts = urlsplit(url)
        authority = parts.netloc.rpartition("@")[2] or f"{conn.local[0]}:{self.port}"
        return f"rtsp://{authority}{path.base}"

    async def _setup(self, conn: _Connection, request: RtspRequest) -> _Answer:
        resolved = await self._resolve(conn, request.url)
        if isinstance(resolved, _Answer):
            return resolved
        path, unit_code, _name, lease = resolved
        tracks = await self._tracks(lease)
        if path.track is None:
            if len(tracks) != 1:
                return _answer(459, "Aggregate Operation Not Allowed")
            index = 0
        else:
            index = path.track
        track = next((t for t in tracks if t.index == index), None)
        if track is None:
            return _answer(404, "Not Found")
        session = conn.session
        wanted = (request.header("Session") or "").split(";")[0].strip()
        if wanted and (session is None or wanted != session.id):
            return _answer(454, "Session Not Found")
        if session is not None and session.path.base != path.base:
            return _answer(459, "Aggregate Operation Not Allowed")
        if session is not None and session.playing:
            return _answer(455, "Method Not Valid in This State")
        used = {
            c
            for o in (session.outputs.values() if session else ())
            if o.transport.interleaved
            for c in o.transport.interleaved
        }
        try:
            transport = parse_transport(request.header("Transport"), max(used, default=-1) + 1)
        except TransportError as exc:
            log.info("restream: unsupported transport from %s: %s", conn.peer[0], exc)
            return _answer(461, "Unsupported Transport")
        if transport.interleaved and used & set(transport.interleaved):
            return _answer(461, "Unsupported Transport")
        if session is None:
            assert conn.credential is not None
            session = RestreamSession(
                os.urandom(8).hex().upper(),
                conn.credential,
                path,
                unit_code,
                conn.leases.pop(path.base),
                peer_host=conn.peer[0],
                write=conn.write,
                write_buffered=conn.buffered,
                on_end=self._ended_by_pump,
            )
            conn.session = session
            self.sessions[session.id] = session
        output = Output(track, transport)
        if not transport.tcp:
            try:
                await self._open_udp(conn, session, output)
            except OSError as exc:
                log.warning("restream: no UDP ports for a reader: %s", exc)
                return _answer(503, "Service Unavailable")
        old = session.outputs.pop(track.index, None)
        if old is not None:
            old.close()
        session.outputs[track.index] = output
        session.touch()
        return _answer(
            200,
            "OK",
            ("Transport", transport.header(output.server_port, output.ssrc)),
            ("Session", f"{session.id};timeout={int(self.session_timeout)}"),
        )

    async def _open_udp(self, conn: _Connection, session: RestreamSession, output: Output) -> None:
        """An even/odd pair of UDP ports on the address the reader connected to."""
        loop = asyncio.get_running_loop()
        host = conn.local[0]
        for _ in range(20):
            rtp, _p = await loop.create_datagram_endpoint(
                lambda: _Datagram(session.touch), local_addr=(host, 0)
            )
            port = int(rtp.get_extra_info("sockname")[1])
            if port % 2 == 1 or port >= 65535:
                rtp.close()
                continue
            try:
                rtcp, _q = await loop.create_datagram_endpoint(
                    lambda: _Datagram(session.touch), local_addr=(host, port + 1)
                )
            except OSError:
                rtp.close()
                continue
            output.udp, output.udp_rtcp = rtp, rtcp
            output.server_port = (port, port + 1)
            return
        raise OSError("no free even/odd UDP port pair")

    async def _play(
        self,
        conn: _Connection,
        session: RestreamSession,
        request: RtspRequest,
        session_header: tuple[str, str],
    ) -> _Answer:
        if not session.outputs:
            return _answer(455, "Method Not Valid in This State")
        first = session.started_at is None
        session.play()
        if first:
            session.start_audit = self._spawn(
                self._audit_start(conn, session), f"restream start {session.id[:8]}"
            )
        base = self._base_url(conn, request.url, session.path)
        info = ",".join(
            f"url={base}/trackID={o.track.index};seq={o.sequence};rtptime={o.base}"
            for o in session.outputs.values()
        )
        return _answer(200, "OK", session_header, ("Range", "npt=now-"), ("RTP-Info", info))

    async def _audit_start(self, conn: _Connection, session: RestreamSession) -> None:
        try:
            async with self._db.transaction() as db_session:
                await record(
                    db_session,
                    session.credential.actor,
                    "restream.pull.start",
                    object_type="camera",
                    object_id=session.path.camera_id,
                    unit_code=session.unit_code,
                    detail={
                        "session": session.id[:8],
                        "stream": session.lease.stream,
                        "transport": session.transport_name,
                        "client": conn.peer[0],
                    },
                )
                await self._accounts.touch(db_session, session.credential.account_id)
        except Exception:
            log.exception("could not audit the start of a restream pull")

    def stats(self) -> dict[str, int]:
        return {"connections": len(self._connections), "sessions": len(self.sessions)}


class _Refuser(asyncio.Protocol):
    """Over the connection limit: answer 503 to whatever comes, then close."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(
            encode_response(503, "Service Unavailable", [("CSeq", "0"), ("Server", SERVER)])
        )
        transport.close()
