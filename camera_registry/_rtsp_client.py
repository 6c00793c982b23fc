"""Asyncio RTSP client for one camera session: ingest plus the ONVIF audio backchannel.

Thin shell over the pure core (``_rtsp_wire``, ``_sdp``, ``_rtp``, ``_h264``, ``_audio``,
``_digest``).  One TCP connection, RTP/AVP/TCP interleaved, no threads:

OPTIONS → DESCRIBE (with ``Require: www.onvif.org/ver20/backchannel``; refused → once
more without it, and the session is listen-only with the reason) → SETUP of every
track we can use, the backchannel ``sendonly`` track last but before PLAY → PLAY →
GET_PARAMETER (or OPTIONS) keepalives at half the session timeout → TEARDOWN.

Media is handled synchronously in ``data_received``: decode frames, parse RTP,
depacketize, and hand :class:`MediaFrame` objects to ``on_frame`` (normally
``StreamHub.publish``).  Nothing per packet is logged or awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

from camera_registry._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
    InvalidStreamUrlError,
    MalformedMediaError,
    RtspStatusError,
)
from media import (
    AacDepacketizer,
    AudioFormatError,
    DigestAuthenticator,
    G711Packetizer,
    H264Depacketizer,
    MediaFrame,
    RtpError,
    RtspFormatError,
    RtspRequest,
    RtspResponse,
    RtspStreamDecoder,
    SdpError,
    SdpMedia,
    TimestampUnwrapper,
    TrackInfo,
    encode_interleaved,
    encode_request,
    encode_response,
    parse_rtp,
    parse_sdp,
    parse_www_authenticate,
    rtsp_controls,
)

__all__ = ["BACKCHANNEL_REQUIRE", "RtspClient"]

BACKCHANNEL_REQUIRE = "www.onvif.org/ver20/backchannel"
_G711 = ("PCMU", "PCMA")
_AUDIO_IN = frozenset({"PCMU", "PCMA", "MPEG4-GENERIC"})
# Receive batching (see RtspClient._tune_lowat): ~10 ms of media per wake-up, at most 16 KiB.
_LOWAT_SECONDS = 0.010
_LOWAT_MAX = 16 * 1024
_LOWAT_TUNE_EVERY = 2.0
_INTERLEAVED = re.compile(r"interleaved=(\d+)(?:-(\d+))?", re.IGNORECASE)
FrameSink = Callable[[MediaFrame], None]


class _Receiver:
    """Per-track receive state: RTP parse, SSRC watch, depacketize, frame out."""

    __slots__ = (
        "_client",
        "_disc",
        "_h264",
        "_next_seq",
        "_now",
        "_push",
        "_unwrap",
        "codec",
        "gaps",
        "kind",
        "malformed",
        "rate",
        "ssrc",
        "track",
    )

    def __init__(self, client: RtspClient, track: TrackInfo) -> None:
        self._client = client
        self.track = track
        self.kind = track.kind
        self.codec = track.codec
        self.rate = track.clock_rate
        self.ssrc: int | None = None
        self._unwrap = TimestampUnwrapper()
        self._disc = True
        self._now = 0.0
        self._next_seq: int | None = None
        self.gaps = 0
        self.malformed = 0
        self._push: Callable[[memoryview, int, bool, int], None]
        if track.codec == "H264":
            self._h264 = H264Depacketizer(self._emit_video, track.sprop_parameter_sets)
            self._push = self._h264.push
        elif track.codec == "MPEG4-GENERIC":
            self._push = AacDepacketizer(self._emit_audio, track.fmtp).push
        else:
            self._push = self._g711

    def handle(self, packet: memoryview, now: float) -> None:
        try:
            _pt, marker, seq, ts, ssrc, payload = parse_rtp(packet)
        except RtpError:
            self.malformed += 1
            return
        if ssrc != self.ssrc:
            if self.ssrc is not None:
                self._ssrc_changed()
            self.ssrc = ssrc
        self._now = now
        try:
            self._push(payload, ts, marker, seq)
        except AudioFormatError:
            self.malformed += 1

    def _ssrc_changed(self) -> None:
        self._unwrap.reset()
        self._disc = True
        self._next_seq = None
        if self.codec == "H264":
            self._h264.reset()
        self._client._ssrc_changed(self.track)

    def _emit(self, data: bytes, keyframe: bool, ts: int) -> None:
        disc = self._disc
        self._disc = False
        self._client._on_frame(
            MediaFrame(
                self.kind,
                self.codec,
                self.rate,
                self._unwrap.unwrap(ts),
                keyframe,
                data,
                self._now,
                disc,
            )
        )

    def _emit_video(self, data: bytes, keyframe: bool, ts: int) -> None:
        self._emit(data, keyframe, ts)

    def _emit_audio(self, data: bytes, ts: int) -> None:
        self._emit(data, False, ts)

    def _g711(self, payload: memoryview, ts: int, marker: bool, seq: int) -> None:
        if self._next_seq is not None and seq != self._next_seq:
            self.gaps += 1
        self._next_seq = (seq + 1) & 0xFFFF
        if len(payload):
            self._emit(bytes(payload), False, ts)

    @property
    def total_gaps(self) -> int:
        return self._h264.gaps if self.codec == "H264" else self.gaps


class _Protocol(asyncio.Protocol):
    def __init__(self, client: RtspClient) -> None:
        self._client = client

    def data_received(self, data: bytes) -> None:
        self._client._data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._connection_lost(self, exc)


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
        user_agent: str = "zongzhi-gateway",
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
        self._want_backchannel = backchannel
        self._timeout = request_timeout
        self._user_agent = user_agent
        self._decoder = RtspStreamDecoder()
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._pending: dict[int, asyncio.Future[RtspResponse]] = {}
        self._lock = asyncio.Lock()
        self._cseq = 0
        self._receivers: dict[int, _Receiver] = {}
        self._keepalive: asyncio.Task[None] | None = None
        self._rx_bytes = 0
        self._rx_mark = (0.0, 0)
        self._lowat = 1
        self._lowat_set = 1
        self._lowat_timer: asyncio.TimerHandle | None = None
        self._closed: asyncio.Future[CameraError | None] | None = None
        self._started = False
        self._playing = False
        self._use_get_parameter = False
        self.session_id: str | None = None
        self.session_timeout = 60.0
        self.aggregate_url = self.url
        self.tracks: tuple[TrackInfo, ...] = ()
        self.backchannel: TrackInfo | None = None
        #: every sendonly (backchannel) audio format the camera offered, in SDP order
        self.backchannel_offer: tuple[TrackInfo, ...] = ()
        self.listen_only_reason: str | None = None
        self.last_media_at = 0.0
        self.server = ""
        self._bc_channel = -1
        self._bc_packetizer: G711Packetizer | None = None
        self.backchannel_dropped = 0

    # ----------------------------------------------------------------- status
    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def gaps(self) -> int:
        return sum(r.total_gaps for r in self._receivers.values())

    async def wait_closed(self) -> CameraError | None:
        """Wait until the connection ends; the error that ended it, None if closed by us."""
        if self._closed is None:
            return None
        return await asyncio.shield(self._closed)

    # ------------------------------------------------------------------ setup
    async def start(self) -> None:
        """Connect, negotiate and PLAY; raises a :class:`CameraError` on any failure."""
        if self._started:
            return
        self._started = True
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
                    (m, control, sdp.media_direction(m, "recvonly"))
                    for m, control in zip(sdp.media, controls, strict=True)
                ]
            )
            await self._play()
        except BaseException:
            await self._abort()
            raise

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                transport, protocol = await loop.create_connection(
                    lambda: _Protocol(self), self.host, self.port
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
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._protocol = protocol
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
                await self._abort(keep_state=True)
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
        # Directions are seen from the client, as ONVIF cameras write them: a section
        # without one is media the camera sends ("recvonly" for us).
        receive: list[TrackInfo] = []
        back: TrackInfo | None = None
        for m, control, direction in media:
            tracks = m.tracks(control_url=control, direction=direction)
            if direction == "sendonly" and m.kind == "audio":
                self.backchannel_offer += tuple(tracks)
                options = [t for t in tracks if t.codec in _G711]
                options.sort(key=lambda t: _G711.index(t.codec))
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
        channel = 0
        for track in receive:
            channel = await self._setup_track(track, channel, backchannel=False) + 2
        if back is not None:
            try:
                self._bc_channel = await self._setup_track(back, channel, backchannel=True)
                self.backchannel = back
                self._bc_packetizer = G711Packetizer(back.payload_type, clock_rate=back.clock_rate)
            except RtspStatusError as exc:
                self.listen_only_reason = (
                    f"camera refused the backchannel SETUP ({exc.status} {exc.reason})"
                )
        self.tracks = tuple(receive)

    async def _setup_track(self, track: TrackInfo, channel: int, *, backchannel: bool) -> int:
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
        channel = int(match.group(1))
        if not backchannel:
            self._receivers[channel] = _Receiver(self, track)
        return channel

    async def _play(self) -> None:
        # No Range header: these are live sources, and some servers (GStreamer's ONVIF
        # media among them) fail the implied seek when a backchannel is set up.
        headers: list[tuple[str, str]] = []
        if self.backchannel is not None:
            headers.append(("Require", BACKCHANNEL_REQUIRE))
        resp = await self._request("PLAY", self.aggregate_url, headers)
        if not resp.ok:
            raise RtspStatusError("PLAY", resp.status, resp.reason)
        self.last_media_at = time.monotonic()
        self._playing = True
        self._rx_mark = (self.last_media_at, self._rx_bytes)
        self._lowat_timer = asyncio.get_running_loop().call_later(
            _LOWAT_TUNE_EVERY, self._tune_lowat
        )
        self._keepalive = asyncio.create_task(
            self._keepalive_loop(), name=f"rtsp-keepalive {self.url}"
        )

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
        transport = self._transport
        if transport is None or transport.is_closing():
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
        # An RTSP answer is small: wake on its first byte, not after a batch of media.
        self._set_lowat(1)
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
            self._set_lowat(self._lowat)

    # ------------------------------------------------------------ batching
    def _tune_lowat(self) -> None:
        """Let the kernel wake us once per ~10 ms of media instead of once per RTP packet.

        With one camera on the loop every packet otherwise costs a full event-loop wake-up;
        ``SO_RCVLOWAT`` batches them (epoll reports the socket readable only once that many
        bytes wait).  Sized from the measured bitrate, capped, and dropped to 1 byte while a
        request waits for its answer, so RTSP replies are never held back.
        """
        now = time.monotonic()
        then, before = self._rx_mark
        self._rx_mark = (now, self._rx_bytes)
        if now > then:
            rate = (self._rx_bytes - before) / (now - then)
            self._lowat = max(1, min(_LOWAT_MAX, int(rate * _LOWAT_SECONDS)))
            if not self._pending:
                self._set_lowat(self._lowat)
        if self._playing:
            self._lowat_timer = asyncio.get_running_loop().call_later(
                _LOWAT_TUNE_EVERY, self._tune_lowat
            )

    def _cancel_lowat_timer(self) -> None:
        timer, self._lowat_timer = self._lowat_timer, None
        if timer is not None:
            timer.cancel()

    def _set_lowat(self, size: int) -> None:
        transport = self._transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or size == self._lowat_set:
            return
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, size)
            self._lowat_set = size

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

    # ------------------------------------------------------------ connection
    def _data_received(self, data: bytes) -> None:
        self._rx_bytes += len(data)
        try:
            items = self._decoder.feed(data)
        except RtspFormatError as exc:
            self._fail(MalformedMediaError(str(exc)))
            return
        if not items:
            return
        now = time.monotonic()
        receivers = self._receivers
        media = False
        for item in items:
            if type(item) is tuple:
                receiver = receivers.get(item[0])
                if receiver is not None:
                    receiver.handle(item[1], now)
                    media = True
            elif isinstance(item, RtspResponse):
                self._on_response(item)
            elif isinstance(item, RtspRequest):
                self._answer(item)
        if media:
            self.last_media_at = now

    def _on_response(self, resp: RtspResponse) -> None:
        cseq = resp.cseq
        if cseq is None and len(self._pending) == 1:
            cseq = next(iter(self._pending))  # a camera that forgets CSeq, one request out
        future = self._pending.get(cseq) if cseq is not None else None
        if future is not None and not future.done():
            future.set_result(resp)

    def _answer(self, request: RtspRequest) -> None:
        # Cameras sometimes ping their client; answer so they do not drop the session.
        ok = request.method in ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER")
        headers = [("CSeq", request.header("CSeq") or "0")]
        if self._transport is not None and not self._transport.is_closing():
            status = (200, "OK") if ok else (501, "Not Implemented")
            self._transport.write(encode_response(*status, headers))

    def _ssrc_changed(self, track: TrackInfo) -> None:
        if self._on_event is not None:
            self._on_event(f"camera rebooted (SSRC changed on the {track.kind} track)")

    def _fail(self, exc: CameraError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(exc)
        if self._transport is not None:
            self._transport.close()

    def _connection_lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return  # a connection we already replaced (reconnect after a refused Require)
        self._playing = False
        self._cancel_lowat_timer()
        error = CameraConnectionError("camera closed the connection" + (f": {exc}" if exc else ""))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(error)

    async def _abort(self, *, keep_state: bool = False) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)
        if keep_state:
            self._decoder = RtspStreamDecoder()
        await asyncio.sleep(0)

    async def close(self) -> None:
        """TEARDOWN (best effort, bounded) and close; idempotent, leaves no task behind."""
        try:
            task, self._keepalive = self._keepalive, None
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            transport = self._transport
            if self._playing and transport is not None and not transport.is_closing():
                headers = [("Require", BACKCHANNEL_REQUIRE)] if self.backchannel else []
                with contextlib.suppress(CameraError, TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._request("TEARDOWN", self.aggregate_url, headers)
        finally:
            # even when cancelled mid-TEARDOWN: no socket is left behind
            self._playing = False
            self._cancel_lowat_timer()
            if self._closed is not None and not self._closed.done():
                self._closed.set_result(None)
            transport, self._transport = self._transport, None
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
        track = self.backchannel
        transport = self._transport
        if track is None:
            raise BackchannelUnavailableError(
                f"camera has no usable backchannel: {self.listen_only_reason or 'not set up'}"
            )
        if not self._playing or transport is None or transport.is_closing():
            raise BackchannelUnavailableError(
                "backchannel can be used only while the session plays"
            )
        packetizer = self._bc_packetizer
        assert packetizer is not None  # set up with the backchannel track
        now = time.monotonic()
        if transport.get_write_buffer_size() > 256 * 1024:
            self.backchannel_dropped += 1
            return packetizer.skip(len(g711), now)
        first_ts, packets = packetizer.packetize(g711, now)
        transport.write(b"".join(encode_interleaved(self._bc_channel, p) for p in packets))
        return first_ts
