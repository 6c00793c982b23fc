"""The camera's RTSP server: RTSP/1.0 over TCP with interleaved RTP and the ONVIF backchannel.

One connection carries one session (as ffmpeg, GStreamer and the gateway use it).  Requests
are answered synchronously from the protocol callback; media is written by a
:class:`MediaPump` task owned by the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ._audio import AacProgram
from ._auth import Credentials, DigestChallenge, check_authorization
from ._backchannel import BackchannelSink
from ._clip import EncodedClip
from ._config import CameraConfig, FaultState
from ._live import LiveSource
from ._pump import MediaPump, TrackOut
from ._rtp import parse_rtp
from ._rtsp_wire import (
    InterleavedFrame,
    RtspRequest,
    RtspServerParser,
    format_response,
    parse_transport,
)
from ._sdp import AUDIO_TRACK, BACKCHANNEL_TRACK, VIDEO_TRACK, SdpVideo, build_sdp

__all__ = ["BACKCHANNEL_OPTION", "RtspContext", "RtspServer", "StreamFeed"]

logger = logging.getLogger(__name__)

BACKCHANNEL_OPTION = "www.onvif.org/ver20/backchannel"
_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER, TEARDOWN"
_PATH_PREFIX = "/Streaming/"


@dataclass(frozen=True, slots=True)
class StreamFeed:
    video: SdpVideo
    clip: EncodedClip | None = None
    live: LiveSource | None = None


@dataclass(slots=True)
class RtspContext:
    """What the RTSP server shares with the rest of its camera."""

    config: CameraConfig
    faults: FaultState
    credentials: Credentials
    challenge: DigestChallenge
    feeds: dict[str, StreamFeed]
    microphone: bytes
    sink: BackchannelSink
    aac: AacProgram | None = None  # the microphone in AAC instead of G.711
    ssrcs: dict[tuple[str, int], int] = field(default_factory=dict)  # new on every boot
    backchannel_holder: object | None = None


class _Connection(asyncio.Protocol):
    def __init__(self, server: RtspServer) -> None:
        self.server = server
        self.ctx = server.ctx
        self.parser = RtspServerParser()
        self.transport: asyncio.Transport | None = None
        self.session_id: str | None = None
        self.stream: str | None = None
        self.channels: dict[int, int] = {}  # track -> RTP channel
        self.offered_backchannel = False
        self.pump: MediaPump | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._closing_task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.add(self)
        self._touch()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self._timeout is not None:
            self._timeout.cancel()
        self._release_session()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.parser.feed(data)
        except ValueError as exc:
            logger.info("closing RTSP connection after a malformed message: %s", exc)
            self._write(format_response(400, None))
            self.close()
            return
        self._touch()
        for message in messages:
            if isinstance(message, InterleavedFrame):
                self._on_interleaved(message)
            else:
                self._on_request(message)

    # -- housekeeping -----------------------------------------------------------------------
    def _touch(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
        loop = asyncio.get_running_loop()
        self._timeout = loop.call_later(self.ctx.config.session_timeout, self._expire)

    def _expire(self) -> None:
        logger.info("RTSP session %s timed out", self.session_id)
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _release_session(self) -> None:
        if self.ctx.backchannel_holder is self:
            self.ctx.backchannel_holder = None
        pump, self.pump = self.pump, None
        if pump is not None:
            self.server.track_closing(pump.close())
        self.session_id = None
        self.channels.clear()

    # -- RTP from the client ----------------------------------------------------------------
    def _on_interleaved(self, frame: InterleavedFrame) -> None:
        if self.channels.get(BACKCHANNEL_TRACK) != frame.channel:
            return  # RTCP receiver reports and the like: they only keep the session alive
        if self.pump is None:
            self.ctx.sink.before_play += 1  # a client must wait for the PLAY reply
            return
        try:
            packet = parse_rtp(frame.payload)
        except ValueError:
            self.ctx.sink.rejected += 1
            return
        self.ctx.sink.receive(packet, asyncio.get_running_loop().time())

    # -- requests ---------------------------------------------------------------------------
    def _on_request(self, request: RtspRequest) -> None:
        handler = {
            "OPTIONS": self._options,
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "GET_PARAMETER": self._keepalive,
            "SET_PARAMETER": self._keepalive,
            "TEARDOWN": self._teardown,
        }.get(request.method)
        if handler is None:
            self._reply(request, 501, [("Public", _PUBLIC)])
            return
        if request.method != "OPTIONS" and not self._authorized(request):
            return
        unsupported = self._unsupported_options(request)
        if unsupported:
            self._reply(request, 551, [("Unsupported", ", ".join(sorted(unsupported)))])
            return
        handler(request)

    def _reply(
        self,
        request: RtspRequest,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        all_headers = list(headers or [])
        if self.session_id is not None and request.method != "TEARDOWN":
            all_headers.append(
                ("Session", f"{self.session_id};timeout={self.ctx.config.session_timeout}")
            )
        self._write(format_response(status, request.cseq, all_headers, body))

    def _authorized(self, request: RtspRequest) -> bool:
        now = time.time()
        if check_authorization(
            request.headers.get("Authorization"),
            request.method,
            self.ctx.challenge,
            self.ctx.credentials,
            now,
            refuse_all=self.ctx.faults.refuse_auth,
        ):
            return True
        challenges = self.ctx.challenge.www_authenticate(now)
        self._reply(request, 401, [("WWW-Authenticate", c) for c in challenges])
        return False

    def _unsupported_options(self, request: RtspRequest) -> set[str]:
        tags = request.require()
        unsupported = tags - {BACKCHANNEL_OPTION}
        if BACKCHANNEL_OPTION in tags and self.ctx.faults.no_backchannel:
            unsupported.add(BACKCHANNEL_OPTION)
        return unsupported

    def _target(self, url: str) -> tuple[str | None, int | None]:
        """(stream token, track) of a request URL such as /Streaming/main/trackID=1."""
        path = urlsplit(url).path if "://" in url else url
        if not path.startswith(_PATH_PREFIX):
            return None, None
        parts = [p for p in path[len(_PATH_PREFIX) :].split("/") if p]
        if not parts or parts[0] not in self.ctx.feeds:
            return None, None
        track: int | None = None
        if len(parts) > 1 and parts[1].startswith("trackID="):
            with contextlib.suppress(ValueError):
                track = int(parts[1].removeprefix("trackID="))
        return parts[0], track

    def _options(self, request: RtspRequest) -> None:
        self._reply(request, 200, [("Public", _PUBLIC)])

    def _describe(self, request: RtspRequest) -> None:
        stream, _ = self._target(request.url)
        if stream is None:
            self._reply(request, 404)
            return
        self.offered_backchannel = BACKCHANNEL_OPTION in request.require()
        feed = self.ctx.feeds[stream]
        sdp = build_sdp(
            self.server.session_version,
            self.ctx.config.host,
            self.ctx.config.name,
            feed.video,
            self.offered_backchannel,
            aac_config=self.ctx.aac.config if self.ctx.aac is not None else None,
        ).encode()
        base = f"{self.server.url_base}{_PATH_PREFIX}{stream}/"
        self._reply(
            request, 200, [("Content-Base", base), ("Content-Type", "application/sdp")], sdp
        )

    def _setup(self, request: RtspRequest) -> None:
        stream, track = self._target(request.url)
        if stream is None or track not in (VIDEO_TRACK, AUDIO_TRACK, BACKCHANNEL_TRACK):
            self._reply(request, 404)
            return
        if (
            self.session_id is not None
            and (request.headers.get("Session") or "").split(";")[0] != self.session_id
        ):
            self._reply(request, 454)
            return
        if self.stream is not None and self.session_id is not None and stream != self.stream:
            self._reply(request, 459)  # one session aggregates the tracks of one stream
            return
        if self.pump is not None and self.pump.running:
            self._reply(request, 455)
            return
        if track == BACKCHANNEL_TRACK:
            if not self.offered_backchannel or self.ctx.faults.no_backchannel:
                self._reply(request, 404)
                return
            holder = self.ctx.backchannel_holder
            if holder is not None and holder is not self:
                self._reply(request, 503)  # the speaker takes one talker at a time
                return
        try:
            spec = parse_transport(request.headers.get("Transport") or "")
        except ValueError:
            self._reply(request, 400)
            return
        if not spec.tcp:
            self._reply(request, 461)  # this camera model streams over RTSP/TCP only
            return
        interleaved = spec.interleaved or (2 * track, 2 * track + 1)
        if interleaved[0] in {c for t, c in self.channels.items() if t != track}:
            self._reply(request, 461)
            return
        if self.session_id is None:
            self.session_id = secrets.token_hex(8).upper()
        self.stream = stream
        self.channels[track] = interleaved[0]
        transport = f"RTP/AVP/TCP;unicast;interleaved={interleaved[0]}-{interleaved[1]}"
        if track == BACKCHANNEL_TRACK:
            self.ctx.backchannel_holder = self
        else:
            transport += f';ssrc={self._ssrc(stream, track):08X};mode="PLAY"'
        self._reply(request, 200, [("Transport", transport)])

    def _ssrc(self, stream: str, track: int) -> int:
        return self.ctx.ssrcs.setdefault((stream, track), random.randrange(1, 1 << 32))

    def _play(self, request: RtspRequest) -> None:
        if self.session_id is None or self.stream is None:
            self._reply(request, 455)
            return
        if (request.headers.get("Session") or "").split(";")[0] != self.session_id:
            self._reply(request, 454)
            return
        if self.pump is None:
            feed = self.ctx.feeds[self.stream]
            video = self._track_out(VIDEO_TRACK)
            audio = self._track_out(AUDIO_TRACK)
            assert self.transport is not None
            self.pump = MediaPump(
                self.transport,
                self.ctx.faults,
                self.ctx.microphone,
                video,
                audio,
                feed.video.fps,
                feed.clip,
                feed.live,
                aac=self.ctx.aac,
            )
        self.pump.start()
        base = f"{self.server.url_base}{_PATH_PREFIX}{self.stream}/"
        info = ",".join(
            f"url={base}trackID={VIDEO_TRACK if name == 'video' else AUDIO_TRACK};"
            f"seq={t.sequence};rtptime={t.timestamp_base}"
            for name, t in self.pump.rtp_info()
        )
        headers = [("Range", "npt=now-")]
        if info:
            headers.append(("RTP-Info", info))
        self._reply(request, 200, headers)

    def _track_out(self, track: int) -> TrackOut | None:
        channel = self.channels.get(track)
        if channel is None or self.stream is None:
            return None
        return TrackOut.create(channel, self._ssrc(self.stream, track))

    def _pause(self, request: RtspRequest) -> None:
        pump, self.pump = self.pump, None
        if pump is not None:
            self.server.track_closing(pump.close())
        self._reply(request, 200)

    def _keepalive(self, request: RtspRequest) -> None:
        self._reply(request, 200)

    def _teardown(self, request: RtspRequest) -> None:
        self._reply(request, 200)
        self._release_session()
        self.stream = None
        self.offered_backchannel = False


class RtspServer:
    """Listens on one TCP port; owns its connections and their media pumps."""

    def __init__(self, ctx: RtspContext) -> None:
        self.ctx = ctx
        self.connections: set[_Connection] = set()
        self.session_version = random.randrange(1 << 31)
        self.port = ctx.config.rtsp_port
        self._server: asyncio.Server | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def url_base(self) -> str:
        return f"rtsp://{self.ctx.config.host}:{self.port}"

    async def start(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.ctx.config.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def track_closing(self, closing: object) -> None:
        """Own the task that stops a pump, so close() can wait for it."""
        assert asyncio.iscoroutine(closing)
        task = asyncio.ensure_future(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def drop_connections(self) -> None:
        """Reset every client connection at once, as a crashing camera would."""
        for connection in list(self.connections):
            connection.abort()

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        # Let connection_lost callbacks run before waiting for the pumps they stop.
        await asyncio.sleep(0)
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
        if server is not None:
            await server.wait_closed()
