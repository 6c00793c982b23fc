"""The platform's INVITE offer read into what the gateway must do, and the answer SDP
(gb28181.md §5).  Pure core.

- Channel: the Request-URI user, else the Subject's first ID, else ``u=``'s channel.
- Transport: ``RTP/AVP`` → UDP to the offer's ``c=``/``m=``; ``TCP/RTP/AVP`` with
  ``a=setup:passive`` → the platform listens and the gateway connects
  (``tcp-connect``), ``a=setup:active`` → the gateway listens first (``tcp-listen``).
- ``y=``: echoed when it is 10 digits; otherwise one is made (``0``/``1`` + digits 4–8
  of the domain + 4 digits, wvp's rule), and the answer names it.
- Payload type 96 (PS) must be offered.
- Sub stream when any of ``a=stream``, ``a=streamnumber``, ``a=streamprofile`` is 1 or
  ``a=streamMode:SUB``.

The answer puts ``y=`` and ``f=`` last (wvp cuts the SDP at ``y=``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from media import SessionDescription, SipRequest

__all__ = ["MediaOffer", "OfferError", "answer_sdp", "media_format", "parse_offer"]

_SESSIONS = ("play", "playback", "download", "talk")


class OfferError(ValueError):
    """The offer cannot be served; ``status`` is the SIP answer (488, 415, 400)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MediaOffer:
    session_name: str  # Play, Playback, Download
    channel_id: str
    address: str  # where the platform receives (UDP, tcp-connect) or connects from
    port: int
    transport: str  # "udp", "tcp-connect" (gateway connects), "tcp-listen" (gateway listens)
    ssrc: str  # ten digits, echoed in the answer's y=
    stream: str = "main"  # or "sub"
    start: int = 0  # t= (Unix seconds for playback and download)
    end: int = 0
    download_speed: int | None = None

    @property
    def ssrc_value(self) -> int:
        return int(self.ssrc) & 0xFFFFFFFF

    @property
    def answer_setup(self) -> str | None:
        return {"tcp-connect": "active", "tcp-listen": "passive"}.get(self.transport)


def _channel(request: SipRequest, sdp: SessionDescription) -> str:
    user = request.uri.split(":", 1)[-1].split("@", 1)[0] if "@" in request.uri else ""
    if len(user) == 20 and user.isdigit():
        return user
    subject = request.header("Subject") or ""
    first = subject.split(",")[0].split(":")[0].strip()
    if len(first) == 20 and first.isdigit():
        return first
    uri = (sdp.uri or "").split(":")[0].strip()
    if uri:
        return uri
    raise OfferError(400, "INVITE names no channel")


def make_ssrc(domain: str, history: bool) -> str:
    digits = (domain + "0" * 10)[3:8]
    return f"{1 if history else 0}{digits}{int.from_bytes(os.urandom(2), 'big') % 10000:04d}"


def parse_offer(request: SipRequest, sdp: SessionDescription, *, domain: str) -> MediaOffer:
    name = sdp.session_name.strip()
    if name.lower() not in _SESSIONS:
        raise OfferError(488, f"session {name[:20]!r} is not offered by this device")
    video = next((m for m in sdp.media if m.kind == "video"), None)
    if video is None:
        raise OfferError(488, "the offer has no video media")
    if 96 not in video.payload_types:
        raise OfferError(415, "the offer has no PS payload type 96")
    address = video.connection or sdp.connection
    if not address:
        raise OfferError(400, "the offer has no c= address")
    protocol = video.protocol.upper()
    if protocol in ("RTP/AVP", "UDP/RTP/AVP"):
        transport = "udp"
    elif protocol == "TCP/RTP/AVP":
        setup = (video.attribute("setup") or sdp.attribute("setup") or "passive").lower()
        transport = "tcp-listen" if setup == "active" else "tcp-connect"
    else:
        raise OfferError(488, f"media transport {video.protocol[:20]!r} is not RTP/AVP")
    if transport != "tcp-listen" and not 0 < video.port < 65536:
        raise OfferError(488, "the offer's media port is 0")
    history = name.lower() in ("playback", "download")
    ssrc = sdp.ssrc or ""
    if not (len(ssrc) == 10 and ssrc.isdigit()):
        ssrc = make_ssrc(domain, history)
    stream = "main"
    for key in ("stream", "streamnumber", "streamprofile"):
        value = video.attribute(key) or sdp.attribute(key)
        if value is not None and value.strip() == "1":
            stream = "sub"
    mode = video.attribute("streamMode") or sdp.attribute("streamMode")
    if mode is not None and mode.strip().upper() == "SUB":
        stream = "sub"
    speed_text = video.attribute("downloadspeed") or sdp.attribute("downloadspeed")
    speed = int(speed_text) if speed_text and speed_text.strip().isdigit() else None
    start, end = sdp.timing
    return MediaOffer(
        session_name=name,
        channel_id=_channel(request, sdp),
        address=address,
        port=video.port,
        transport=transport,
        ssrc=ssrc,
        stream=stream,
        start=start,
        end=end,
        download_speed=speed,
    )


def media_format(video_codec: str | None, audio_codec: str | None) -> str:
    """The ``f=`` value: video H.264 (2) or H.265 (5), G.711 audio at 64 kbit/s, 8 kHz."""
    video = {"H264": "2", "H265": "5"}.get(video_codec or "", "")
    audio = "a/1/8/1" if audio_codec in ("PCMA", "PCMU") else "a///"
    return f"v/{video}////{audio}"


def answer_sdp(
    offer: MediaOffer,
    *,
    channel_id: str,
    host: str,
    port: int,
    video_codec: str | None = "H264",
    audio_codec: str | None = None,
    extra: tuple[str, ...] = (),
) -> bytes:
    """The 200 OK's SDP: ``m=video <port> [TCP/]RTP/AVP 96``, sendonly, the opposite
    ``setup`` on TCP, ``y=`` echoed and ``f=`` last."""
    protocol = "RTP/AVP" if offer.transport == "udp" else "TCP/RTP/AVP"
    lines = [
        "v=0",
        f"o={channel_id} 0 0 IN IP4 {host}",
        f"s={offer.session_name}",
        f"c=IN IP4 {host}",
        f"t={offer.start} {offer.end}",
        f"m=video {port} {protocol} 96",
        "a=sendonly",
        "a=rtpmap:96 PS/90000",
    ]
    if offer.answer_setup is not None:
        lines += [f"a=setup:{offer.answer_setup}", "a=connection:new"]
    lines += list(extra)
    lines += [f"y={offer.ssrc}", f"f={media_format(video_codec, audio_codec)}"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
