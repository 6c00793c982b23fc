"""The send side of an RTSP session: talk audio to the camera speaker (ONVIF backchannel).

G.711 bytes are cut into 20 ms RTP packets (``media.G711Packetizer``) and written on the
backchannel's interleaved channel.  A camera that stops reading (the socket's write
buffer over ``max_buffered``) loses audio, counted in ``dropped``, instead of queueing it:
late speech is worse than a gap.  The sender also knows what it sent, for the sender
reports the client puts into its RTCP.
"""

from __future__ import annotations

import asyncio
import time

from media import G711Packetizer, SenderReport, TrackInfo, encode_interleaved, ntp_timestamp

__all__ = ["BackchannelSender"]


class BackchannelSender:
    """Talk audio for one backchannel track of one playing session."""

    __slots__ = (
        "_packetizer",
        "_transport",
        "channel",
        "dropped",
        "last_rtp",
        "max_buffered",
        "octets",
        "packets",
        "track",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        track: TrackInfo,
        channel: int,
        *,
        max_buffered: int = 256 * 1024,
    ) -> None:
        self._transport = transport
        self.track = track
        self.channel = channel
        self.max_buffered = max_buffered
        self._packetizer = G711Packetizer(track.payload_type, clock_rate=track.clock_rate)
        self.dropped = 0
        self.packets = 0
        self.octets = 0
        self.last_rtp = (0.0, 0)  # (monotonic time, RTP timestamp) of the last audio sent

    @property
    def ssrc(self) -> int:
        return self._packetizer.ssrc

    def send(self, g711: bytes) -> int:
        """Send ``g711`` now; the RTP timestamp of its first sample."""
        now = time.monotonic()
        if self._transport.get_write_buffer_size() > self.max_buffered:
            self.dropped += 1
            return self._packetizer.skip(len(g711), now)
        first, packets = self._packetizer.packetize(g711, now)
        self._transport.write(b"".join(encode_interleaved(self.channel, p) for p in packets))
        self.packets += len(packets)
        self.octets += len(g711)
        self.last_rtp = (now, first)
        return first

    def sender_report(self) -> SenderReport | None:
        """An RTCP sender report for what was sent, None before any audio."""
        if not self.packets:
            return None
        sent_at, rtp = self.last_rtp
        elapsed = time.monotonic() - sent_at
        return SenderReport(
            ssrc=self.ssrc,
            ntp=ntp_timestamp(time.time()),
            rtp_timestamp=(rtp + int(elapsed * self.track.clock_rate)) & 0xFFFFFFFF,
            packet_count=self.packets,
            octet_count=self.octets,
        )
