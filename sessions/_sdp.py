"""What the signalling needs to know about a browser's SDP offer, and answer edits.  Pure core.

- A WHEP offer must be able to *receive* H.264 video (``recvonly`` or ``sendrecv``);
  a talk offer must *send* audio (``sendonly`` or ``sendrecv``).  Both are checked
  before a peer connection is made, so a bad offer costs nothing and gets a 400 that
  says what is missing.
- The gateway advertises extra host addresses (a 1:1 NAT's outside address, a second
  LAN address) by copying each host candidate of the answer with the other address and
  the same port: the ICE agent answers checks on its socket whatever address the peer
  aimed at.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from media import SdpError, SdpLine, parse_sdp
from sessions._errors import InvalidOfferError

__all__ = [
    "MAX_SDP_BYTES",
    "OfferedMedia",
    "add_host_candidates",
    "check_talk_offer",
    "check_view_offer",
    "parse_offer",
    "talk_codec_order",
]

MAX_SDP_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class OfferedMedia:
    """One ``m=`` section of an offer, as the offerer (the browser) wrote it."""

    kind: str  # "audio", "video", "application"
    direction: str  # seen from the offerer
    codecs: tuple[str, ...] = field(default=())  # upper-case encoding names, offer order
    port: int = 9

    @property
    def receives(self) -> bool:
        return self.port != 0 and self.direction in ("recvonly", "sendrecv")

    @property
    def sends(self) -> bool:
        return self.port != 0 and self.direction in ("sendonly", "sendrecv")


def parse_offer(sdp: str) -> list[OfferedMedia]:
    """The media sections of an SDP offer; :class:`InvalidOfferError` if it is not SDP."""
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise InvalidOfferError(f"the SDP offer is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise InvalidOfferError("the body is not an SDP offer (it must start with v=0)")
    try:
        parsed = parse_sdp(sdp)
    except SdpError as exc:
        raise InvalidOfferError(f"the SDP offer is malformed: {exc}") from None
    if not parsed.media:
        raise InvalidOfferError("the SDP offer has no media sections")
    return [
        OfferedMedia(
            kind=m.kind,
            direction=parsed.media_direction(m, "sendrecv"),
            codecs=m.codecs,
            port=m.port,
        )
        for m in parsed.media
    ]


def check_view_offer(sdp: str) -> list[OfferedMedia]:
    """A WHEP offer: it must receive H.264 video; audio is optional."""
    media = parse_offer(sdp)
    video = [m for m in media if m.kind == "video" and m.receives]
    if not video:
        raise InvalidOfferError(
            "the offer receives no video; add a recvonly video transceiver before createOffer()"
        )
    if not any("H264" in m.codecs for m in video):
        raise InvalidOfferError(
            "the offer has no H.264 video codec; the gateway forwards the camera's H.264 "
            "without transcoding, so the browser must be able to decode H.264"
        )
    return media


def check_talk_offer(sdp: str) -> list[OfferedMedia]:
    """A talk offer: it must send audio (the microphone)."""
    media = parse_offer(sdp)
    if not any(m.kind == "audio" and m.sends for m in media):
        raise InvalidOfferError(
            "the offer sends no audio; add the microphone track (sendonly) before createOffer()"
        )
    return media


def talk_codec_order(backchannel_codec: str) -> list[str]:
    """Audio MIME types to prefer from the browser for a camera speaker codec.

    The camera's own G.711 law first: the browser then encodes at 8 kHz itself and the
    gateway only re-packs 20 ms frames (decode → same-law encode is lossless for G.711).
    Opus stays last so that a browser without G.711 can still talk (decoded, resampled).
    """
    codec = backchannel_codec.upper()
    laws = ["PCMU", "PCMA"] if codec != "PCMA" else ["PCMA", "PCMU"]
    return [f"audio/{law}" for law in laws] + ["audio/opus"]


def add_host_candidates(sdp: str, hosts: tuple[str, ...]) -> str:
    """Copy every IPv4 host candidate once per extra address, same port, lower priority.

    ``hosts`` are IP addresses (validated by the settings); an address already among
    the candidates is not added twice.
    """
    if not hosts:
        return sdp
    for host in hosts:
        ipaddress.ip_address(host)  # ValueError names a bad setting early
    parsed = parse_sdp(sdp)
    present = {
        fields[4]
        for m in parsed.media
        for value in m.attributes("candidate")
        if len(fields := value.split()) > 6
    }
    media = []
    for m in parsed.media:
        lines: list[SdpLine] = []
        for kind, value in m.lines:
            lines.append((kind, value))
            fields = value.removeprefix("candidate:").split()
            if not value.startswith("candidate:") or len(fields) < 8 or fields[7] != "host":
                continue
            if ":" in fields[4]:
                continue  # IPv6 host candidates stay as they are
            for index, host in enumerate(hosts, start=1):
                if host in present:
                    continue
                priority = (
                    str(max(int(fields[3]) - index, 1)) if fields[3].isdecimal() else fields[3]
                )
                copy = [f"{fields[0]}x{index}", fields[1], fields[2], priority, host, *fields[5:]]
                lines.append(("a", "candidate:" + " ".join(copy)))
        media.append(m.with_lines(lines))
    return replace(parsed, media=tuple(media)).encode()
