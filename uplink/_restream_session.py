"""One RTSP restream session: the hub subscription of one reader and the RTP it sends.

The camera's frames come from its hub (the camera's one ingest session is shared by
every reader, the recorder and live view); each access unit is re-packetized into RTP as
it came from the camera (no transcoding), with the reader's own SSRC, sequence numbers
and timestamps that stay continuous across camera reconnects.  Sending never waits: a
reader whose socket buffer is full loses frames up to the next keyframe (counted), the
hub's bounded queue does the same one step earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from camera_registry import HubLease, StreamClosedError, Subscription
from media import (
    H264Packetizer,
    H265Packetizer,
    MediaFrame,
    SenderReport,
    build_rtp,
    encode_interleaved,
    encode_rtcp,
    ntp_timestamp,
)
from uplink._restream_accounts import RestreamCredential
from uplink._restream_wire import RestreamPath, RestreamTrack, Transport

__all__ = ["Output", "RestreamSession"]

log = logging.getLogger("gateway.restream")

#: Bytes a reader's socket may hold unsent before its frames are dropped to a keyframe.
WRITE_LIMIT = 2 * 1024 * 1024
#: Largest RTP payload (fits a 1500-byte MTU with IP/UDP/RTP headers).
MTU = 1400
SR_INTERVAL = 5.0


def _random32() -> int:
    return int.from_bytes(os.urandom(4), "big")


@dataclass(eq=False)
class Output:
    """One set-up track of a session: where its RTP goes and the state that numbers it."""

    track: RestreamTrack
    transport: Transport
    ssrc: int = field(default_factory=_random32)
    sequence: int = field(default_factory=lambda: int.from_bytes(os.urandom(2), "big"))
    base: int = field(default_factory=_random32)  # the first RTP timestamp sent
    udp: asyncio.DatagramTransport | None = None  # UDP: the RTP socket
    udp_rtcp: asyncio.DatagramTransport | None = None
    server_port: tuple[int, int] | None = None
    packets: int = 0
    octets: int = 0
    last_out: int | None = None  # last RTP timestamp sent (unwrapped)
    _origin: int | None = None  # camera timestamp that maps to ``_offset``
    _offset: int = 0
    _last_arrival: float = 0.0
    _h264: H264Packetizer | None = None
    _h265: H265Packetizer | None = None

    def __post_init__(self) -> None:
        codec, pt = self.track.source.codec, self.track.payload_type
        if codec == "H264":
            self._h264 = H264Packetizer(pt, ssrc=self.ssrc, sequence=self.sequence, mtu=MTU)
        elif codec == "H265":
            self._h265 = H265Packetizer(pt, ssrc=self.ssrc, sequence=self.sequence, mtu=MTU)

    def timestamp(self, frame: MediaFrame) -> int:
        """The reader's RTP timestamp of ``frame``: continuous across camera reconnects
        (a discontinuity continues from the last one sent, advanced by the wall time)."""
        if self._origin is None or frame.discontinuity:
            if self.last_out is None:
                self._offset = self.base
            else:
                gap = max(1, int((frame.arrival - self._last_arrival) * frame.clock_rate))
                self._offset = self.last_out + gap
            self._origin = frame.timestamp
        ts = self._offset + frame.timestamp - self._origin
        self.last_out = ts
        self._last_arrival = frame.arrival
        return ts

    def packetize(self, frame: MediaFrame) -> list[bytes]:
        ts = self.timestamp(frame) & 0xFFFFFFFF
        pt = self.track.payload_type
        if self._h264 is not None:
            packets = self._h264.packetize(frame.data, ts)
            self.sequence = self._h264.sequence
        elif self._h265 is not None:
            packets = self._h265.packetize(frame.data, ts)
            self.sequence = self._h265.sequence
        elif frame.codec == "MPEG4-GENERIC":
            if len(frame.data) >= 1 << 13:
                return []  # cannot be described by a 13-bit AU size (never from a camera)
            header = b"\x00\x10" + (len(frame.data) << 3).to_bytes(2, "big")
            packets = [
                build_rtp(pt, self.sequence, ts, self.ssrc, header + frame.data, marker=True)
            ]
            self.sequence = (self.sequence + 1) & 0xFFFF
        else:  # G.711: one byte per sample, split at the MTU on whole 20 ms blocks
            packets = []
            data = frame.data
            step = MTU - MTU % 160
            for start in range(0, len(data), step):
                chunk = data[start : start + step]
                packets.append(
                    build_rtp(pt, self.sequence, (ts + start) & 0xFFFFFFFF, self.ssrc, chunk)
                )
                self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets += len(packets)
        self.octets += sum(len(p) - 12 for p in packets)
        return packets

    def sender_report(self) -> bytes | None:
        if self.last_out is None:
            return None
        report = SenderReport(
            ssrc=self.ssrc,
            ntp=ntp_timestamp(time.time()),
            rtp_timestamp=self.last_out & 0xFFFFFFFF,
            packet_count=self.packets,
            octet_count=self.octets,
        )
        return encode_rtcp(report)

    def close(self) -> None:
        for transport in (self.udp, self.udp_rtcp):
            if transport is not None:
                transport.close()


class RestreamSession:
    """A reader's session: its outputs, its hub lease and, while playing, its pump task.

    ``write`` sends interleaved bytes on the reader's RTSP connection and
    ``write_buffered`` tells how much of it waits unsent.
    """

    def __init__(
        self,
        session_id: str,
        credential: RestreamCredential,
        path: RestreamPath,
        unit_code: str,
        lease: HubLease,
        *,
        peer_host: str,
        write: Callable[[bytes], None],
        write_buffered: Callable[[], int],
        on_end: Callable[[RestreamSession, str], None],
    ) -> None:
        self.id = session_id
        self.credential = credential
        self.path = path
        self.unit_code = unit_code
        self.lease = lease
        self.peer_host = peer_host
        self.outputs: dict[int, Output] = {}
        self.last_seen = time.monotonic()
        self.started_at: float | None = None  # first PLAY
        self.start_audit: asyncio.Task[None] | None = None  # the audit row of the first PLAY
        self.dropped_frames = 0
        self.ended = False
        self._write = write
        self._write_buffered = write_buffered
        self._on_end = on_end
        self._sub: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._waiting_key = False

    @property
    def playing(self) -> bool:
        return self._pump is not None and not self._pump.done()

    @property
    def transport_name(self) -> str:
        tcp = any(o.transport.tcp for o in self.outputs.values())
        return "tcp" if tcp else "udp"

    @property
    def bytes_sent(self) -> int:
        return sum(o.octets for o in self.outputs.values())

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def play(self) -> None:
        """Start sending (idempotent); the reader starts at the hub's cached keyframe."""
        if self.playing or self.ended:
            return
        kinds = {o.track.kind for o in self.outputs.values()}
        self._sub = self.lease.hub.subscribe(kinds, max_frames=300, max_bytes=16 * 1024 * 1024)
        self._waiting_key = False
        if self.started_at is None:
            self.started_at = time.monotonic()
        self._pump = asyncio.create_task(self._run(self._sub), name=f"restream {self.id[:8]}")

    async def pause(self) -> None:
        await self._stop_pump()

    async def _stop_pump(self) -> None:
        pump, self._pump = self._pump, None
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.close()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def close(self) -> None:
        """Stop sending and give back the hub lease and the sockets; idempotent."""
        self.ended = True
        await self._stop_pump()
        for output in self.outputs.values():
            output.close()
        self.lease.release()

    def _send(self, output: Output, packets: list[bytes], rtcp: bool = False) -> None:
        if output.transport.tcp:
            assert output.transport.interleaved is not None
            channel = output.transport.interleaved[1 if rtcp else 0]
            self._write(b"".join(encode_interleaved(channel, p) for p in packets))
            return
        sock = output.udp_rtcp if rtcp else output.udp
        port = output.transport.client_port
        if sock is None or port is None or sock.is_closing():
            return
        address = (self.peer_host, port[1] if rtcp else port[0])
        for packet in packets:
            sock.sendto(packet, address)

    def _congested(self, output: Output) -> bool:
        if output.transport.tcp:
            return self._write_buffered() > WRITE_LIMIT
        sock = output.udp
        if sock is None:
            return False
        # asyncio's datagram transports buffer what the kernel refused (EAGAIN)
        size = getattr(sock, "get_write_buffer_size", None)
        return size is not None and int(size()) > WRITE_LIMIT

    async def _run(self, sub: Subscription) -> None:
        by_kind = {o.track.kind: o for o in self.outputs.values()}
        has_video = "video" in by_kind
        next_sr = time.monotonic() + 1.0
        try:
            while True:
                frame = await sub.get()
                output = by_kind.get(frame.kind)
                if output is None or frame.codec != output.track.source.codec:
                    continue
                if self._waiting_key:
                    if not (frame.kind == "video" and frame.keyframe):
                        self.dropped_frames += 1
                        continue
                    self._waiting_key = False
                if self._congested(output):
                    # the reader does not keep up: skip to the next keyframe, never queue
                    self.dropped_frames += 1
                    self._waiting_key = has_video
                    continue
                self._send(output, output.packetize(frame))
                now = time.monotonic()
                if now >= next_sr:
                    next_sr = now + SR_INTERVAL
                    for out in self.outputs.values():
                        report = out.sender_report()
                        if report is not None:
                            self._send(out, [report], rtcp=True)
        except StreamClosedError:
            self._on_end(self, self.lease.hub.close_reason or "the camera stream closed")
        except (ConnectionError, OSError) as exc:
            self._on_end(self, f"sending failed: {exc}")
