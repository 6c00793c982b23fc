"""Errors of the media toolkit: one root, one kind per wire format.

Every parser in ``media`` raises only its format's error on bad input (arbitrary bytes
never raise anything else: the property tests check it).  They are ``ValueError``\\ s, so a
caller that only cares "this did not parse" can catch that; the shells that own a
connection (the RTSP client, the SIP transport) turn them into their own errors.
"""

from __future__ import annotations

__all__ = [
    "AudioFormatError",
    "DigestError",
    "H264Error",
    "H265Error",
    "ManscdpError",
    "MediaFormatError",
    "PsError",
    "RtcpError",
    "RtpError",
    "RtspFormatError",
    "SdpError",
    "SipFormatError",
]


class MediaFormatError(ValueError):
    """Bytes (or text) that are not valid in the wire format being read."""


class RtspFormatError(MediaFormatError):
    """Not a valid RTSP message or ``$`` interleaved frame (RFC 2326)."""


class SdpError(MediaFormatError):
    """Not a usable session description (RFC 4566)."""


class RtpError(MediaFormatError):
    """Not an RTP v2 packet (RFC 3550 §5)."""


class RtcpError(MediaFormatError):
    """Not a valid RTCP packet or compound packet (RFC 3550 §6)."""


class H264Error(MediaFormatError):
    """Not valid H.264 (Annex B, RTP payload format RFC 6184, or an SPS)."""


class H265Error(MediaFormatError):
    """Not valid H.265 (RTP payload format RFC 7798)."""


class AudioFormatError(MediaFormatError):
    """Not valid G.711 or AAC (RFC 3640) framing."""


class DigestError(MediaFormatError):
    """A ``WWW-Authenticate``/``Authorization`` header that cannot be used."""


class PsError(MediaFormatError):
    """Not a valid MPEG-2 program stream (ISO/IEC 13818-1) as GB/T 28181 uses it."""


class SipFormatError(MediaFormatError):
    """Not a valid SIP message (RFC 3261)."""


class ManscdpError(MediaFormatError):
    """Not a valid MANSCDP XML body (GB/T 28181 Annex A)."""
