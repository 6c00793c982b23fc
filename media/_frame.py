"""MediaFrame: the unit every media consumer shares (hub, recorder, WebRTC, uplink)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MediaFrame"]


@dataclass(frozen=True, slots=True)
class MediaFrame:
    """One access unit (video) or audio frame, as a camera's hub distributes it.

    ``data`` is Annex-B H.264/H.265 with start codes (parameter sets before every
    keyframe), raw G.711 bytes, or one raw AAC access unit.  ``timestamp`` is the RTP
    timestamp extended past 32-bit wraps, in ``clock_rate`` units (90 kHz video, the
    sample rate for audio).  ``discontinuity`` marks the first frame of a track after a
    (re)connect or an SSRC change: timestamps restart there.  ``arrival`` is
    ``time.monotonic()`` on receipt.
    """

    kind: str  # "video", "audio" or "talk" (what the gateway sent to the speaker)
    codec: str  # "H264", "H265", "PCMU", "PCMA", "MPEG4-GENERIC"
    clock_rate: int
    timestamp: int
    keyframe: bool
    data: bytes
    arrival: float
    discontinuity: bool = False
