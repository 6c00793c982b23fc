"""The receive side of an RTSP session: one connection's byte stream → frames and answers.

:class:`RtspReader` is the ``asyncio.Protocol`` of the camera connection.  Media is
handled synchronously in ``data_received``: decode interleaved frames, parse RTP, count
it, depacketize, and hand :class:`MediaFrame` objects to the sink (normally
``StreamHub.publish``).  Nothing per packet is logged or awaited.  RTSP answers go to the
client's pending requests, requests from the camera are answered at once, RTCP from the
camera (sender reports) is noted for our receiver reports.

Receive batching: after PLAY the client asks the kernel (``SO_RCVLOWAT``) to report the
socket readable only once ~10 ms of media is waiting, and drops that to one byte while a
request awaits its answer (see :meth:`RtspReader.tune_batching`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable

from media import (
    AacDepacketizer,
    AudioFormatError,
    H264Depacketizer,
    MediaFrame,
    ReceptionStats,
    ReportBlock,
    RtcpError,
    RtpError,
    RtspFormatError,
    RtspRequest,
    RtspResponse,
    RtspStreamDecoder,
    SenderReport,
    TimestampUnwrapper,
    TrackInfo,
    encode_response,
    parse_rtcp,
    parse_rtp,
)

__all__ = ["FrameSink", "RtspReader", "TrackReceiver"]

FrameSink = Callable[[MediaFrame], None]
# Receive batching: ~10 ms of media per wake-up, at most 16 KiB.
LOWAT_SECONDS = 0.010
LOWAT_MAX = 16 * 1024


class TrackReceiver:
    """Per-track receive state: RTP parse, loss and jitter count, SSRC watch, frames out."""

    __slots__ = (
        "_disc",
        "_lost_before",
        "_now",
        "_on_gap",
        "_on_ssrc_change",
        "_push",
        "_received_before",
        "_sink",
        "_unwrap",
        "_video",
        "codec",
        "kind",
        "last_frame_at",
        "loss_events",
        "malformed",
        "rate",
        "stats",
        "track",
    )

    def __init__(
        self,
        track: TrackInfo,
        sink: FrameSink,
        on_ssrc_change: Callable[[TrackInfo], None],
        on_gap: Callable[[TrackInfo, int], None] | None = None,
    ) -> None:
        self.track = track
        self.kind = track.kind
        self.codec = track.codec
        self.rate = track.clock_rate
        self.stats = ReceptionStats(track.clock_rate)
        self.malformed = 0
        self.loss_events = 0
        #: monotonic time of the last frame that came out whole (0.0: none yet)
        self.last_frame_at = 0.0
        self._received_before = 0  # counts of earlier sources (before an SSRC change)
        self._lost_before = 0
        self._sink = sink
        self._on_ssrc_change = on_ssrc_change
        self._on_gap = on_gap
        self._unwrap = TimestampUnwrapper()
        self._disc = True
        self._now = 0.0
        self._video: H264Depacketizer | None = None
        self._push: Callable[[memoryview, int, bool, int], None]
        if track.codec == "H264":
            self._video = H264Depacketizer(self._emit_video, track.sprop_parameter_sets)
            self._push = self._video.push
        elif track.codec == "MPEG4-GENERIC":
            self._push = AacDepacketizer(self._emit_audio, track.fmtp).push
        else:
            self._push = self._g711

    @property
    def ssrc(self) -> int | None:
        return self.stats.ssrc

    @property
    def received(self) -> int:
        """RTP packets received, every source of this track."""
        return self._received_before + self.stats.received

    @property
    def lost(self) -> int:
        """RTP packets lost, from sequence numbers (RFC 3550 A.3), every source."""
        return self._lost_before + max(0, self.stats.lost)

    @property
    def dropped(self) -> int:
        """Access units discarded as broken, undecodable or over the size bound."""
        return self._video.dropped if self._video is not None else 0

    @property
    def oversized(self) -> int:
        return self._video.oversized if self._video is not None else 0

    def handle(self, packet: memoryview, now: float) -> None:
        try:
            _pt, marker, seq, ts, ssrc, payload = parse_rtp(packet)
        except RtpError:
            self.malformed += 1
            return
        stats = self.stats
        if ssrc != stats.ssrc:
            if stats.ssrc is not None:
                self._received_before += stats.received
                self._lost_before += max(0, stats.lost)
                self._ssrc_changed()
            stats.reset(ssrc)
        skipped = stats.update(seq, ts, now)
        if skipped:
            self.loss_events += 1
            if self._on_gap is not None:
                self._on_gap(self.track, skipped)
        self._now = now
        try:
            self._push(payload, ts, marker, seq)
        except AudioFormatError:
            self.malformed += 1

    def handle_rtcp(self, packet: memoryview, now: float) -> None:
        try:
            reports = parse_rtcp(packet)
        except RtcpError:
            self.malformed += 1
            return
        for report in reports:
            if isinstance(report, SenderReport) and report.ssrc == self.stats.ssrc:
                self.stats.sender_report(report.ntp, now)

    def report(self, now: float) -> ReportBlock | None:
        """A reception report for our next RTCP packet, None before any media."""
        return self.stats.report(now) if self.stats.received else None

    def _ssrc_changed(self) -> None:
        self.loss_events += 1  # the stream restarts: what was in flight is gone
        self._unwrap.reset()
        self._disc = True
        if self._video is not None:
            self._video.reset()
        self._on_ssrc_change(self.track)

    def _emit(self, data: bytes, keyframe: bool, ts: int) -> None:
        self.last_frame_at = self._now
        disc = self._disc
        self._disc = False
        self._sink(
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
        if len(payload):
            self._emit(bytes(payload), False, ts)


class RtspReader(asyncio.Protocol):
    """The camera connection's protocol: decodes what arrives and routes every piece."""

    def __init__(
        self,
        on_response: Callable[[RtspResponse], None],
        on_lost: Callable[[RtspReader, Exception | None], None],
        on_malformed: Callable[[RtspFormatError], None],
    ) -> None:
        self._on_response = on_response
        self._on_lost = on_lost
        self._on_malformed = on_malformed
        self._decoder = RtspStreamDecoder()
        self.transport: asyncio.Transport | None = None
        self.receivers: dict[int, TrackReceiver] = {}  # RTP channel → receiver
        self.rtcp: dict[int, TrackReceiver] = {}  # RTCP channel → receiver
        self.rx_bytes = 0
        #: monotonic time of the last RTP packet on a set-up channel, whole frame or not
        self.last_packet_at = 0.0
        self._lowat = 1
        self._lowat_set = 1
        self._rx_mark = (0.0, 0)
        self.awaiting_answer = False

    # ------------------------------------------------------------- protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.rx_bytes += len(data)
        try:
            items = self._decoder.feed(data)
        except RtspFormatError as exc:
            self._on_malformed(exc)
            return
        if not items:
            return
        now = time.monotonic()
        receivers = self.receivers
        media = False
        for item in items:
            if type(item) is tuple:
                receiver = receivers.get(item[0])
                if receiver is not None:
                    receiver.handle(item[1], now)
                    media = True
                elif (control := self.rtcp.get(item[0])) is not None:
                    control.handle_rtcp(item[1], now)
            elif isinstance(item, RtspResponse):
                self._on_response(item)
            elif isinstance(item, RtspRequest):
                self._answer(item)
        if media:
            self.last_packet_at = now

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(self, exc)

    def _answer(self, request: RtspRequest) -> None:
        # Cameras sometimes ping their client; answer so they do not drop the session.
        ok = request.method in ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER")
        headers = [("CSeq", request.header("CSeq") or "0")]
        transport = self.transport
        if transport is not None and not transport.is_closing():
            status = (200, "OK") if ok else (501, "Not Implemented")
            transport.write(encode_response(*status, headers))

    # ------------------------------------------------------------- batching
    def start_batching(self) -> None:
        self._rx_mark = (time.monotonic(), self.rx_bytes)

    def tune_batching(self) -> None:
        """Let the kernel wake us once per ~10 ms of media instead of once per RTP packet.

        With one camera on the loop every packet otherwise costs a full event-loop wake-up;
        ``SO_RCVLOWAT`` batches them (epoll reports the socket readable only once that many
        bytes wait).  Sized from the measured bitrate, capped, and dropped to 1 byte while a
        request waits for its answer, so RTSP replies are never held back.
        """
        now = time.monotonic()
        then, before = self._rx_mark
        self._rx_mark = (now, self.rx_bytes)
        if now > then:
            rate = (self.rx_bytes - before) / (now - then)
            self._lowat = max(1, min(LOWAT_MAX, int(rate * LOWAT_SECONDS)))
            if not self.awaiting_answer:
                self._set_lowat(self._lowat)

    def expect_answer(self, waiting: bool) -> None:
        """An RTSP answer is small: wake on its first byte, not after a batch of media."""
        self.awaiting_answer = waiting
        self._set_lowat(1 if waiting else self._lowat)

    def _set_lowat(self, size: int) -> None:
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or size == self._lowat_set:
            return
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, size)
            self._lowat_set = size
