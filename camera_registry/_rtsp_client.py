"""Asyncio RTSP client for one camera session: ingest plus the ONVIF audio backchannel.

An explicit state machine, ``idle → connecting → playing → closed``:

- :meth:`RtspClient.start` (idle only) connects and negotiates: OPTIONS → DESCRIBE
  (with ``Require: www.onvif.org/ver20/backchannel``; refused → once more without it,
  and the session is listen-only with the reason) → SETUP of every track we can use,
  the backchannel ``sendonly`` track last but before PLAY → PLAY.  A failed start
  leaves the client idle again, with nothing open, so it can be retried.
- While playing: GET_PARAMETER (or OPTIONS) keepalives at half the session timeout,
  and RTCP every ~5 s on the interleaved RTCP channels — receiver reports for what we
  receive, a sender report for talk audio — because some cameras and servers end a
  session whose client never reports.
- :meth:`RtspClient.close` (any state, idempotent) sends TEARDOWN when playing.

The receive side (:mod:`._rtsp_receive`) and the talk sender (:mod:`._backchannel`) are
separate small parts; the pure wire formats are in ``media``.  One TCP connection,
RTP/AVP/TCP interleaved, no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import re
import time
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

from camera_registry._backchannel import BackchannelSender
from camera_registry._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
    InvalidStreamUrlError,
    MalformedMediaError,
    RtspStateError,
    RtspStatusError,
)
from camera_registry._rtsp_receive import FrameSink, RtspReader, TrackReceiver
from camera_registry._stats import IngestStats
from media import (
    DigestAuthenticator,
    ReceiverReport,
    RtcpPacket,
    RtspFormatError,
    RtspResponse,
    SdpError,
    SdpMedia,
    SourceDescription,
    TrackInfo,
    encode_interleaved,
    encode_request,
    encode_rtcp,
    parse_sdp,
    parse_www_authenticate,
    rtsp_controls,
)

__all__ = ["BACKCHANNEL_REQUIRE", "RtspClient", "RtspState"]

BACKCHANNEL_REQUIRE = "www.onvif.org/ver20/backchannel"
_G711 = ("PCMU", "PCMA")
_AUDIO_IN = frozenset({"PCMU", "PCMA", "MPEG4-GENERIC"})
_BATCH_TUNE_EVERY = 2.0
_INTERLEAVED = re.compile(r"interleaved=(\d+)(?:-(\d+))?", re.IGNORECASE)


class RtspState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    PLAYING = "playing"
    CLOSED = "closed"


class RtspClient:
    """One RTSP session with one camera.  ``await start()``, then frames flow; ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        on_frame: FrameSink,
        username: str | None = None,
        password: str | None = None,
        backchannel: bool = True,
        request_timeout: float = 10.0,
        on_event: Callable[[str], None] | None = None,
        on_gap: Callable[[TrackInfo, int], None] | None = None,
        user_agent: str = "zongzhi-gateway",
        keepalive: bool = True,
        rtcp_interval: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() != "rtsp" or not parts.hostname:
            raise InvalidStreamUrlError(f"stream URL {url!r} must be rtsp://host[:port]/path")
        self.host = parts.hostname
        self.port = parts.port or 554
        netloc = self.host if ":" not in self.host else f"[{self.host}]"
        netloc += f":{parts.port}" if parts.port else ""
        # Credentials go in Authorization headers, never in request URLs.
        self.url = parts._replace(netloc=netloc).geturl()
        user = username if username is not None else unquote(parts.username or "") or None
        pw = password if password is not None else unquote(parts.password or "")
        self._auth = DigestAuthenticator(user, pw) if user else None
        self._on_frame = on_frame
        self._on_event = on_event
        self._on_gap = on_gap
        self._want_backchannel = backchannel
        self._timeout = request_timeout
        self._user_agent = user_agent
        self._keepalive_enabled = keepalive
        self._rtcp_interval = rtcp_interval
        self._cname = f"zongzhi-{os.urandom(4).hex()}@gateway".encode()
        self._rtcp_ssrc = int.from_bytes(os.urandom(4), "big")
        self.state = RtspState.IDLE
        self._reset()

    def _reset(self) -> None:
        """Per-attempt state: what one connection negotiated."""
        self._reader: RtspReader | None = None
        self._pending: dict[int, asyncio.Future[RtspResponse]] = {}
        self._lock = asyncio.Lock()
        self._cseq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closed: asyncio.Future[CameraError | None] | None = None
        self._use_get_parameter = False
        self._sender: BackchannelSender | None = None
        self._sender_rtcp: int | None = None
        self.session_id: str | None = None
        self.session_timeout = 60.0
        self.aggregate_url = self.url
        self.tracks: tuple[TrackInfo, ...] = ()
        self.backchannel: TrackInfo | None = None
        #: every sendonly (backchannel) audio format the camera offered, in SDP order
        self.backchannel_offer: tuple[TrackInfo, ...] = ()
        self.listen_only_reason: str | None = None
        self.server = ""
        self.rtcp_sent = 0
        self._played = False
        self._played_at = 0.0

    # ----------------------------------------------------------------- status
    @property
    def playing(self) -> bool:
        return self.state is RtspState.PLAYING

    @property
    def cname(self) -> str:
        """The RTCP CNAME this client reports under (random per client)."""
        return self._cname.decode()

    @property
    def last_packet_at(self) -> float:
        """When the camera last sent an RTP packet on a set-up track (monotonic)."""
        return self._reader.last_packet_at if self._reader is not None else 0.0

    @property
    def last_media_at(self) -> float:
        """When the last whole frame came out (monotonic; PLAY time before the first).

        Only frames that depacketize count, and video ones when the camera has video: a
        camera that sends random ``$`` frames, endless access units or audio over a dead
        picture is not delivering a picture, however many bytes it sends.
        """
        reader = self._reader
        if reader is None:
            return 0.0
        receivers = list(reader.receivers.values())
        video = [r for r in receivers if r.kind == "video"]
        latest = max((r.last_frame_at for r in video or receivers), default=0.0)
        return max(latest, self._played_at)

    @property
    def played_at(self) -> float:
        """When PLAY was answered (monotonic; 0.0 before)."""
        return self._played_at

    @property
    def has_picture(self) -> bool:
        """Whether a whole frame (video, if the camera has video) came out since PLAY."""
        return self.last_media_at > self._played_at

    @property
    def receivers(self) -> tuple[TrackReceiver, ...]:
        return tuple(self._reader.receivers.values()) if self._reader is not None else ()

    @property
    def lost(self) -> int:
        """RTP packets lost on every track, from sequence numbers."""
        return sum(r.lost for r in self.receivers)

    def stats(self) -> IngestStats:
        """This session's counters (``last_gap`` is kept by the ingest, not here)."""
        receivers = self.receivers
        return IngestStats(
            packets=sum(r.received for r in receivers),
            packets_lost=sum(r.lost for r in receivers),
            gaps=sum(r.loss_events for r in receivers),
            broken_frames=sum(r.dropped for r in receivers),
            oversized_frames=sum(r.oversized for r in receivers),
            malformed=sum(r.malformed for r in receivers),
            sessions=1 if self._played else 0,
        )

    @property
    def backchannel_dropped(self) -> int:
        return self._sender.dropped if self._sender is not None else 0

    @property
    def _transport(self) -> asyncio.Transport | None:
        return self._reader.transport if self._reader is not None else None

    async def wait_closed(self) -> CameraError | None:
        """Wait until the connection ends; the error that ended it, None if closed by us."""
        if self._closed is None:
            return None
        return await asyncio.shield(self._closed)

    # ------------------------------------------------------------------ setup
    async def start(self) -> None:
        """Connect, negotiate and PLAY; raises a :class:`CameraError` on any failure.

        Only from ``idle``; after a failure the client is idle again and may be retried.
        """
        if self.state is not RtspState.IDLE:
            raise RtspStateError(
                f"cannot start an RTSP session that is {self.state.value}"
                + ("; create a new client" if self.state is RtspState.CLOSED else "")
            )
        self.state = RtspState.CONNECTING
        try:
            await self._connect()
            options = await self._request("OPTIONS", self.url)
            self._use_get_parameter = "GET_PARAMETER" in (options.header("Public") or "").upper()
            self.server = options.header("Server") or ""
            describe = await self._describe()
            base = (
                describe.header("Content-Base") or describe.header("Content-Location") or self.url
            )
            try:
                sdp = parse_sdp(describe.body)
            except SdpError as exc:
                raise MalformedMediaError(f"camera SDP: {exc}") from None
            self.aggregate_url, controls = rtsp_controls(sdp, base)
            await self._setup(
                [
                    # seen from the client, as ONVIF cameras write them: a section without
                    # a direction is media the camera sends ("recvonly" for us)
                    (m, control, sdp.media_direction(m, "recvonly"))
                    for m, control in zip(sdp.media, controls, strict=True)
                ]
            )
            await self._play()
        except BaseException:
            await self._abort()
            if self.state is RtspState.CONNECTING:
                self._reset()
                self.state = RtspState.IDLE
            raise
        self.state = RtspState.PLAYING
        self._played = True
        self._start_tasks()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, reader = await loop.create_connection(
                    lambda: RtspReader(self._on_response, self._connection_lost, self._malformed),
                    self.host,
                    self.port,
                )
        except TimeoutError:
            raise CameraTimeoutError(
                f"connecting to {self.host}:{self.port} timed out after {self._timeout:g} s"
            ) from None
        except ConnectionRefusedError:
            raise CameraConnectionError(f"connection refused by {self.host}:{self.port}") from None
        except OSError as exc:
            raise CameraConnectionError(
                f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._reader = reader
        self._closed = loop.create_future()

    async def _describe(self) -> RtspResponse:
        accept = ("Accept", "application/sdp")
        if self._want_backchannel:
            try:
                resp = await self._request(
                    "DESCRIBE", self.url, [accept, ("Require", BACKCHANNEL_REQUIRE)]
                )
            except CameraAuthError:
                raise
            except CameraTimeoutError:
                self.listen_only_reason = (
                    "camera did not answer DESCRIBE with the backchannel Require header"
                )
            except CameraConnectionError:
                self.listen_only_reason = (
                    "camera closed the connection on the backchannel Require header"
                )
                await self._abort()
                await self._connect()
            else:
                if resp.ok:
                    return resp
                self.listen_only_reason = (
                    f"camera refused the ONVIF backchannel ({resp.status} {resp.reason})"
                )
        else:
            self.listen_only_reason = "backchannel not requested"
        resp = await self._request("DESCRIBE", self.url, [accept])
        if not resp.ok:
            raise RtspStatusError("DESCRIBE", resp.status, resp.reason)
        return resp

    async def _setup(self, media: Sequence[tuple[SdpMedia, str, str]]) -> None:
        receive: list[TrackInfo] = []
        back: TrackInfo | None = None
        for m, control, direction in media:
            tracks = m.tracks(control_url=control, direction=direction)
            if direction == "sendonly" and m.kind == "audio":
                self.backchannel_offer += tuple(tracks)
                options = sorted(
                    (t for t in tracks if t.codec in _G711), key=lambda t: _G711.index(t.codec)
                )
                if options and back is None:
                    back = options[0]
                elif not options and self.listen_only_reason is None:
                    codecs = ", ".join(t.codec for t in tracks) or "none"
                    self.listen_only_reason = f"backchannel codecs not supported: {codecs}"
                continue
            track = m.track(control_url=control, direction=direction)
            if track is None or direction not in ("recvonly", "sendrecv"):
                continue
            wanted = (track.kind == "video" and track.codec == "H264") or (
                track.kind == "audio" and track.codec in _AUDIO_IN
            )
            if wanted and all(t.kind != track.kind for t in receive):
                receive.append(track)
        if not receive:
            raise MalformedMediaError("camera SDP offers no H.264 video or G.711/AAC audio track")
        if back is None and self.listen_only_reason is None:
            self.listen_only_reason = "camera offers no backchannel track (no a=sendonly audio)"
        reader = self._reader
        assert reader is not None
        channel = 0
        for track in receive:
            rtp, rtcp = await self._setup_track(track, channel, backchannel=False)
            receiver = TrackReceiver(track, self._on_frame, self._ssrc_changed, self._on_gap)
            reader.receivers[rtp] = receiver
            if rtcp is not None:
                reader.rtcp[rtcp] = receiver
            channel = rtp + 2
        if back is not None:
            try:
                rtp, rtcp = await self._setup_track(back, channel, backchannel=True)
            except RtspStatusError as exc:
                self.listen_only_reason = (
                    f"camera refused the backchannel SETUP ({exc.status} {exc.reason})"
                )
            else:
                assert reader.transport is not None
                self._sender = BackchannelSender(reader.transport, back, rtp)
                self._sender_rtcp = rtcp
                self.backchannel = back
        self.tracks = tuple(receive)

    async def _setup_track(
        self, track: TrackInfo, channel: int, *, backchannel: bool
    ) -> tuple[int, int | None]:
        headers = [("Transport", f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}")]
        if backchannel:
            headers.append(("Require", BACKCHANNEL_REQUIRE))
        resp = await self._request("SETUP", track.control_url, headers)
        if not resp.ok:
            raise RtspStatusError("SETUP", resp.status, resp.reason)
        session = resp.header("Session")
        if session:
            sid, _, params = session.partition(";")
            self.session_id = sid.strip()
            found = re.search(r"timeout\s*=\s*(\d+)", params)
            if found and int(found.group(1)) > 0:
                self.session_timeout = float(found.group(1))
        match = _INTERLEAVED.search(resp.header("Transport") or "")
        if match is None:
            raise MalformedMediaError(
                f"camera did not accept TCP interleaved transport for {track.control_url}"
            )
        rtp = int(match.group(1))
        rtcp = int(match.group(2)) if match.group(2) else None
        if rtp > 255 or (rtcp is not None and rtcp > 255):
            raise MalformedMediaError(f"camera chose interleaved channels {match.group(0)!r}")
        return rtp, rtcp

    async def _play(self) -> None:
        # No Range header: these are live sources, and some servers (GStreamer's ONVIF
        # media among them) fail the implied seek when a backchannel is set up.
        headers: list[tuple[str, str]] = []
        if self.backchannel is not None:
            headers.append(("Require", BACKCHANNEL_REQUIRE))
        resp = await self._request("PLAY", self.aggregate_url, headers)
        if not resp.ok:
            raise RtspStatusError("PLAY", resp.status, resp.reason)
        reader = self._reader
        assert reader is not None
        self._played_at = reader.last_packet_at = time.monotonic()
        reader.start_batching()

    def _start_tasks(self) -> None:
        name = f"{self.host}:{self.port}"
        self._tasks = [asyncio.create_task(self._batching_loop(), name=f"rtsp-batching {name}")]
        if self._keepalive_enabled:
            self._tasks.append(
                asyncio.create_task(self._keepalive_loop(), name=f"rtsp-keepalive {name}")
            )
        if self._rtcp_interval > 0:
            self._tasks.append(asyncio.create_task(self._rtcp_loop(), name=f"rtsp-rtcp {name}"))

    # --------------------------------------------------------------- requests
    async def _request(
        self, method: str, url: str, headers: Sequence[tuple[str, str]] = ()
    ) -> RtspResponse:
        async with self._lock:
            resp = await self._send(method, url, headers)
            if resp.status == 401 and self._auth is not None:
                challenges = parse_www_authenticate(resp.header_all("WWW-Authenticate"))
                stale = any(c.params.get("stale", "").lower() == "true" for c in challenges)
                # Nonces expire (often after minutes) and many cameras issue a new one
                # without stale=true: a fresh nonce deserves one more try, never more.
                fresh = any(
                    c.params.get("nonce") not in (None, self._auth.nonce) for c in challenges
                )
                if (self._auth.scheme is None or stale or fresh) and self._auth.accept(challenges):
                    resp = await self._send(method, url, headers)
            if resp.status == 401:
                if self._auth is None:
                    raise CameraAuthError("camera requires a user name and password")
                raise CameraAuthError("wrong password: camera refused the user name or password")
            return resp

    async def _send(
        self, method: str, url: str, headers: Sequence[tuple[str, str]]
    ) -> RtspResponse:
        reader = self._reader
        transport = reader.transport if reader is not None else None
        if reader is None or transport is None or transport.is_closing():
            raise CameraConnectionError(f"cannot send {method}: the camera connection is closed")
        self._cseq += 1
        cseq = self._cseq
        hdrs = [("CSeq", str(cseq)), ("User-Agent", self._user_agent)]
        authorization = self._auth.authorization(method, url) if self._auth else None
        if authorization:
            hdrs.append(("Authorization", authorization))
        if self.session_id and method != "OPTIONS":
            hdrs.append(("Session", self.session_id))
        hdrs.extend(headers)
        future: asyncio.Future[RtspResponse] = asyncio.get_running_loop().create_future()
        self._pending[cseq] = future
        reader.expect_answer(True)
        try:
            transport.write(encode_request(method, url, hdrs))
            async with asyncio.timeout(self._timeout):
                return await future
        except TimeoutError:
            raise CameraTimeoutError(
                f"camera did not answer {method} within {self._timeout:g} s"
            ) from None
        finally:
            self._pending.pop(cseq, None)
            reader.expect_answer(bool(self._pending))

    def _on_response(self, resp: RtspResponse) -> None:
        cseq = resp.cseq
        if cseq is None and len(self._pending) == 1:
            cseq = next(iter(self._pending))  # a camera that forgets CSeq, one request out
        future = self._pending.get(cseq) if cseq is not None else None
        if future is not None and not future.done():
            future.set_result(resp)

    # ------------------------------------------------------------- playing
    async def _batching_loop(self) -> None:
        while True:
            await asyncio.sleep(_BATCH_TUNE_EVERY)
            if self._reader is not None:
                self._reader.tune_batching()

    async def _keepalive_loop(self) -> None:
        interval = max(self.session_timeout / 2, 1.0)
        method = "GET_PARAMETER" if self._use_get_parameter else "OPTIONS"
        url = self.aggregate_url if self._use_get_parameter else self.url
        while True:
            await asyncio.sleep(interval)
            try:
                resp = await self._request(method, url)
            except CameraError as exc:
                self._fail(CameraTimeoutError(f"keepalive failed: {exc.message}"))
                return
            if resp.status == 454:
                self._fail(RtspStatusError(method, resp.status, resp.reason))
                return

    async def _rtcp_loop(self) -> None:
        while True:
            await asyncio.sleep(self._rtcp_interval)
            self.send_rtcp()

    def send_rtcp(self) -> None:
        """Receiver reports for every track with media, a sender report for talk audio."""
        reader = self._reader
        transport = reader.transport if reader is not None else None
        if reader is None or transport is None or transport.is_closing():
            return
        now = time.monotonic()
        sdes = SourceDescription(((self._rtcp_ssrc, ((1, self._cname),)),))
        frames = []
        for channel, receiver in reader.rtcp.items():
            block = receiver.report(now)
            if block is not None:
                report: RtcpPacket = ReceiverReport(self._rtcp_ssrc, (block,))
                frames.append(encode_interleaved(channel, encode_rtcp(report, sdes)))
        sender = self._sender
        if sender is not None and self._sender_rtcp is not None:
            sr = sender.sender_report()
            if sr is not None:
                own = SourceDescription(((sender.ssrc, ((1, self._cname),)),))
                frames.append(encode_interleaved(self._sender_rtcp, encode_rtcp(sr, own)))
        if frames:
            transport.write(b"".join(frames))
            self.rtcp_sent += len(frames)

    # ------------------------------------------------------------ connection
    def _malformed(self, exc: RtspFormatError) -> None:
        self._fail(MalformedMediaError(str(exc)))

    def _ssrc_changed(self, track: TrackInfo) -> None:
        if self._on_event is not None:
            self._on_event(f"camera rebooted (SSRC changed on the {track.kind} track)")

    def _fail(self, exc: CameraError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(exc)
        transport = self._transport
        if transport is not None:
            transport.close()

    def _connection_lost(self, reader: RtspReader, exc: Exception | None) -> None:
        if reader is not self._reader:
            return  # a connection we already replaced (reconnect after a refused Require)
        if self.state is RtspState.PLAYING:
            self.state = RtspState.CLOSED  # close() still awaits the tasks and cleans up
            for task in self._tasks:
                task.cancel()
        error = CameraConnectionError("camera closed the connection" + (f": {exc}" if exc else ""))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(error)

    async def _abort(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader.transport is not None:
            reader.transport.abort()
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)
        await asyncio.sleep(0)

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """TEARDOWN (best effort, bounded) and close; idempotent, leaves no task behind."""
        playing = self.state is RtspState.PLAYING
        self.state = RtspState.CLOSED
        try:
            await self._stop_tasks()
            transport = self._transport
            if playing and transport is not None and not transport.is_closing():
                headers = [("Require", BACKCHANNEL_REQUIRE)] if self.backchannel else []
                with contextlib.suppress(CameraError, TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._request("TEARDOWN", self.aggregate_url, headers)
        finally:
            # even when cancelled mid-TEARDOWN: no socket is left behind
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(None)
            transport = self._transport
            self._sender = None
            if transport is not None:
                transport.close()

    # ------------------------------------------------------------ backchannel
    def send_backchannel(self, g711: bytes) -> int:
        """Send G.711 bytes (the :attr:`backchannel` codec) to the camera speaker.

        Cut into 20 ms RTP packets (160 samples) with monotonic sequence numbers and
        timestamps; a pause longer than 100 ms advances the timestamp by the pause and
        sets the marker bit (a new talkspurt, RFC 3551).  Returns the RTP timestamp of the
        first sample.  Raises :class:`BackchannelUnavailableError` before PLAY's 200 OK or
        without a backchannel.  When the camera does not read (socket buffer full) the
        audio is dropped and counted in ``backchannel_dropped`` rather than queued.
        """
        if self.backchannel is None:
            raise BackchannelUnavailableError(
                f"camera has no usable backchannel: {self.listen_only_reason or 'not set up'}"
            )
        sender = self._sender
        transport = self._transport
        if not self.playing or sender is None or transport is None or transport.is_closing():
            raise BackchannelUnavailableError(
                "backchannel can be used only while the session plays"
            )
        return sender.send(g711)
