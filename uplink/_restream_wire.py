"""The RTSP restream's pure core: request paths, Transport headers, the SDP it offers and
the nonces of its Digest challenges.  No asyncio, no sockets, no database.

Paths: ``/cameras/{id}`` (main) and ``/cameras/{id}/sub``, each with track controls
``trackID=0`` (video) and ``trackID=1`` (audio) below it, as most NVRs expect of an RTSP
source.  A query string is ignored (some clients append ``?tcp`` or a token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from media import TrackInfo

__all__ = [
    "NonceBook",
    "RestreamPath",
    "RestreamTrack",
    "Transport",
    "TransportError",
    "build_sdp",
    "offered_tracks",
    "parse_path",
    "parse_transport",
]

#: Codecs the restream forwards as they came from the camera (nothing is transcoded).
FORWARDED = {"H264", "H265", "PCMU", "PCMA", "MPEG4-GENERIC"}
_TRACK = re.compile(r"^trackID=(\d{1,2})$")


@dataclass(frozen=True, slots=True)
class RestreamPath:
    """What a request URL names: a camera's stream, and perhaps one of its tracks."""

    camera_id: int
    stream: Literal["main", "sub"]
    track: int | None = None  # None: the aggregate (the whole stream)

    @property
    def base(self) -> str:
        """The aggregate path, without a trailing slash."""
        suffix = "/sub" if self.stream == "sub" else ""
        return f"/cameras/{self.camera_id}{suffix}"


def parse_path(url: str) -> RestreamPath | None:
    """The camera stream (and track) an RTSP request URL names, or None for anything else.

    Accepts absolute (``rtsp://host:port/cameras/7``) and path-only URLs.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    path = unquote(parts.path if parts.scheme or url.startswith("/") else "/" + url)
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2 or segments[0] != "cameras":
        return None
    ident = segments[1]
    if not ident.isdigit() or len(ident) > 12 or ident.startswith("0"):
        return None
    rest = segments[2:]
    stream: Literal["main", "sub"] = "main"
    if rest and rest[0] in ("sub", "main"):
        stream = "sub" if rest[0] == "sub" else "main"
        rest = rest[1:]
    track: int | None = None
    if rest:
        match = _TRACK.match(rest[0])
        if match is None or len(rest) > 1:
            return None
        track = int(match.group(1))
    return RestreamPath(int(ident), stream, track)


class TransportError(ValueError):
    """A Transport header the restream cannot serve (answered 461)."""


@dataclass(frozen=True, slots=True)
class Transport:
    """The transport one SETUP asked for, as the restream will serve it."""

    tcp: bool
    interleaved: tuple[int, int] | None = None  # TCP: RTP and RTCP channels
    client_port: tuple[int, int] | None = None  # UDP: the client's RTP and RTCP ports

    def header(self, server_port: tuple[int, int] | None = None, ssrc: int | None = None) -> str:
        """The Transport header of the SETUP answer."""
        ssrc_part = f";ssrc={ssrc:08X}" if ssrc is not None else ""
        if self.tcp:
            assert self.interleaved is not None
            a, b = self.interleaved
            return f"RTP/AVP/TCP;unicast;interleaved={a}-{b}{ssrc_part}"
        assert self.client_port is not None and server_port is not None
        return (
            f"RTP/AVP;unicast;client_port={self.client_port[0]}-{self.client_port[1]}"
            f";server_port={server_port[0]}-{server_port[1]}{ssrc_part}"
        )


def _pair(text: str, what: str) -> tuple[int, int]:
    first, sep, second = text.partition("-")
    if not first.isdigit() or (sep and not second.isdigit()):
        raise TransportError(f"Transport {what}={text!r} is not a number or a range")
    a = int(first)
    b = int(second) if sep else a + 1
    return a, b


def parse_transport(value: str | None, next_channel: int) -> Transport:
    """The first alternative of a Transport header the restream supports.

    ``next_channel`` is the first interleaved channel free on the connection, used when a
    TCP client leaves the channels to the server.  Multicast and RTP over anything but
    AVP are refused with :class:`TransportError`.
    """
    if not value:
        raise TransportError("SETUP has no Transport header")
    reasons: list[str] = []
    for alternative in value.split(","):
        params = [p.strip() for p in alternative.split(";") if p.strip()]
        if not params:
            continue
        spec = params[0].upper()
        fields: dict[str, str] = {}
        for param in params[1:]:
            name, _, val = param.partition("=")
            fields[name.strip().lower()] = val.strip()
        if "multicast" in fields:
            reasons.append("multicast is not offered")
            continue
        try:
            if spec in ("RTP/AVP/TCP",):
                if "interleaved" in fields:
                    a, b = _pair(fields["interleaved"], "interleaved")
                else:
                    a, b = next_channel, next_channel + 1
                if not (0 <= a <= 255 and 0 <= b <= 255) or a == b:
                    raise TransportError(f"interleaved channels {a}-{b} are outside 0..255")
                return Transport(tcp=True, interleaved=(a, b))
            if spec in ("RTP/AVP", "RTP/AVP/UDP"):
                if "client_port" not in fields:
                    raise TransportError("UDP transport without client_port")
                a, b = _pair(fields["client_port"], "client_port")
                if not (0 < a < 65536 and 0 < b < 65536):
                    raise TransportError(f"client ports {a}-{b} are outside 1..65535")
                return Transport(tcp=False, client_port=(a, b))
            reasons.append(f"transport {params[0]!r} is not supported")
        except TransportError as exc:
            reasons.append(str(exc))
    raise TransportError("; ".join(reasons) or "Transport header offers nothing")


@dataclass(frozen=True, slots=True)
class RestreamTrack:
    """One track the restream offers: the camera's track and the payload type it gets."""

    index: int
    source: TrackInfo
    payload_type: int

    @property
    def kind(self) -> str:
        return self.source.kind


_STATIC_PT = {"PCMU": 0, "PCMA": 8}


def offered_tracks(tracks: tuple[TrackInfo, ...]) -> list[RestreamTrack]:
    """The first video and the first audio track of the camera's session that the restream
    forwards (the backchannel and anything else is not offered)."""
    out: list[RestreamTrack] = []
    for kind in ("video", "audio"):
        for track in tracks:
            if track.kind != kind or track.codec not in FORWARDED:
                continue
            if track.direction not in ("recvonly", "sendrecv"):
                continue  # the backchannel: what the gateway sends, not what it receives
            if kind == "audio" and track.codec in _STATIC_PT and track.clock_rate == 8000:
                pt = _STATIC_PT[track.codec]
            else:
                pt = 96 + len(out)
            out.append(RestreamTrack(len(out), track, pt))
            break
    return out


_FMTP_KEEP = {
    "H264": ("packetization-mode", "profile-level-id", "sprop-parameter-sets"),
    "H265": ("sprop-vps", "sprop-sps", "sprop-pps"),
    "MPEG4-GENERIC": (
        "streamtype",
        "profile-level-id",
        "mode",
        "config",
        "sizelength",
        "indexlength",
        "indexdeltalength",
    ),
}


def _fmtp(track: RestreamTrack) -> str | None:
    source = track.source
    keep = _FMTP_KEEP.get(source.codec)
    if keep is None:
        return None
    values = {k.lower(): v for k, v in source.fmtp.items()}
    if source.codec == "H264":
        values["packetization-mode"] = "1"  # what H264Packetizer sends (STAP-A, FU-A)
    if source.codec == "MPEG4-GENERIC":
        # what the restream's AAC packetizer sends: RFC 3640 AAC-hbr, one AU per packet
        values.update(
            {"streamtype": "5", "mode": "AAC-hbr", "sizelength": "13"}
            | {"indexlength": "3", "indexdeltalength": "3"}
        )
    pairs = [f"{k}={values[k]}" for k in keep if values.get(k)]
    if not pairs:
        return None
    return f"a=fmtp:{track.payload_type} " + ";".join(pairs)


def build_sdp(tracks: list[RestreamTrack], *, session_id: int, host: str, name: str) -> bytes:
    """The SDP answer to DESCRIBE: one media section per offered track, relative
    controls, ``a=control:*`` for the aggregate."""
    family = "IP6" if ":" in host else "IP4"
    safe_name = "".join(ch for ch in name if ch not in "\r\n") or "camera"
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN {family} {host}",
        f"s={safe_name}",
        f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}",
        "t=0 0",
        "a=tool:zongzhi-gateway restream",
        "a=control:*",
        "a=range:npt=now-",
    ]
    for track in tracks:
        source = track.source
        encoding = f"{source.codec}/{source.clock_rate}"
        if track.kind == "audio" and source.channels > 1:
            encoding += f"/{source.channels}"
        lines.append(f"m={track.kind} 0 RTP/AVP {track.payload_type}")
        lines.append(f"a=rtpmap:{track.payload_type} {encoding}")
        fmtp = _fmtp(track)
        if fmtp:
            lines.append(fmtp)
        lines.append(f"a=control:trackID={track.index}")
        lines.append("a=sendonly")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class NonceBook:
    """Stateless Digest nonces: a timestamp and its HMAC under the server's key.

    Any gateway process holding the same key accepts a nonce another one issued, and
    nothing is stored per client.  A nonce older than ``lifetime`` seconds is stale: the
    client is challenged again with ``stale=true`` and retries without asking anyone.
    """

    __slots__ = ("_key", "lifetime")

    def __init__(self, key: bytes, *, lifetime: float = 300.0) -> None:
        self._key = key
        self.lifetime = lifetime

    def _mac(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, now: float | None = None) -> str:
        stamp = f"{int((time.time() if now is None else now) * 1000):x}"
        return base64.b64encode(f"{stamp}:{self._mac(stamp)}".encode()).decode()

    def check(self, nonce: str, now: float | None = None) -> Literal["ok", "stale", "bad"]:
        try:
            stamp, _, mac = base64.b64decode(nonce, validate=True).decode().partition(":")
            issued = int(stamp, 16) / 1000
        except (ValueError, UnicodeDecodeError):
            return "bad"
        if not hmac.compare_digest(mac, self._mac(stamp)):
            return "bad"
        age = (time.time() if now is None else now) - issued
        if age < -5 or age > self.lifetime:
            return "stale"
        return "ok"
