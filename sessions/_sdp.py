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
from dataclasses import dataclass, field

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
_DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})


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
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise InvalidOfferError("the body is not an SDP offer (it must start with v=0)")
    session_direction = "sendrecv"
    sections: list[dict[str, object]] = []
    for line in lines[1:]:
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) < 3:
                raise InvalidOfferError(f"malformed media line in the SDP offer: {line[:80]!r}")
            try:
                port = int(parts[1].split("/")[0])
            except ValueError:
                raise InvalidOfferError(
                    f"malformed port in the SDP offer's media line: {line[:80]!r}"
                ) from None
            sections.append({"kind": parts[0], "port": port, "direction": None, "codecs": []})
        elif line.startswith("a="):
            attribute = line[2:]
            if attribute in _DIRECTIONS:
                if sections:
                    sections[-1]["direction"] = attribute
                else:
                    session_direction = attribute
            elif attribute.startswith("rtpmap:") and sections:
                _, _, encoding = attribute.partition(" ")
                name = encoding.split("/")[0].upper()
                codecs = sections[-1]["codecs"]
                assert isinstance(codecs, list)
                codecs.append(name)
    if not sections:
        raise InvalidOfferError("the SDP offer has no media sections")
    return [
        OfferedMedia(
            kind=str(s["kind"]),
            direction=str(s["direction"] or session_direction),
            codecs=tuple(s["codecs"]),  # type: ignore[arg-type]
            port=int(s["port"]),  # type: ignore[call-overload]
        )
        for s in sections
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
    newline = "\r\n" if "\r\n" in sdp else "\n"
    out: list[str] = []
    present = {
        parts[4]
        for line in sdp.split(newline)
        if line.startswith("a=candidate:") and len(parts := line.split()) > 7
    }
    for line in sdp.split(newline):
        out.append(line)
        parts = line.split()
        if not line.startswith("a=candidate:") or len(parts) < 8 or parts[7] != "host":
            continue
        if ":" in parts[4]:
            continue  # IPv6 host candidates stay as they are
        for index, host in enumerate(hosts, start=1):
            if host in present:
                continue
            foundation = parts[0].removeprefix("a=candidate:")
            copy = [
                f"a=candidate:{foundation}x{index}",
                parts[1],
                parts[2],
                str(max(int(parts[3]) - index, 1)),
                host,
                *parts[5:],
            ]
            out.append(" ".join(copy))
    return newline.join(out)
