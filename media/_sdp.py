"""SDP (RFC 4566): one model for camera descriptions, WebRTC offers and answers, and
GB/T 28181 invitations.  Pure core.

The model keeps every line in order, so what it parses it writes back unchanged
(:meth:`SessionDescription.encode`), and it reads typed values off those lines:

- directions: ``direction`` is what the section (or the session) says, ``None`` when it
  says nothing; each consumer applies its own default (a camera's silent section is
  media the camera *sends*, a WebRTC section is ``sendrecv``);
- ``rtpmap``/``fmtp`` per payload type, with the RFC 3551 static types cameras use
  without an ``rtpmap`` line;
- GB/T 28181's ``y=`` (SSRC, ten digits) and ``f=`` (media format) lines, which are not
  RFC 4566 but follow the media sections; they are kept as fields and always written
  last, since platforms stop reading at ``y=``;
- RTSP controls: :func:`rtsp_controls` resolves ``a=control`` the way cameras mean it
  (relative controls are appended to the base with a ``/``, as cameras and FFmpeg
  expect — not RFC 3986 resolution, which would drop the base's last path segment).

Bad input raises :class:`SdpError` only; junk lines that are not ``x=value`` are skipped,
as cameras need us to.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from media._errors import SdpError

__all__ = [
    "DIRECTIONS",
    "MAX_SDP_BYTES",
    "STATIC_PAYLOAD_TYPES",
    "SdpLine",
    "SdpMedia",
    "SessionDescription",
    "TrackInfo",
    "parse_sdp",
    "resolve_control",
    "rtsp_controls",
]

MAX_SDP_BYTES = 64 * 1024
MAX_SDP_LINES = 4096
DIRECTIONS = frozenset({"sendonly", "recvonly", "sendrecv", "inactive"})

# RFC 3551 static payload types cameras use without an rtpmap line.
STATIC_PAYLOAD_TYPES: Mapping[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    14: ("MPA", 90000, 1),
    26: ("JPEG", 90000, 1),
    32: ("MPV", 90000, 1),
    33: ("MP2T", 90000, 1),
}

# (type letter, value): ("a", "rtpmap:96 H264/90000"), ("c", "IN IP4 10.0.0.2") …
SdpLine = tuple[str, str]
Codec = tuple[str, int, int]  # upper-case encoding name, clock rate, channels


def _attribute_values(lines: Iterable[SdpLine], name: str) -> list[str]:
    """Values of ``a=name:value`` lines (``""`` for a flag ``a=name``), in order."""
    out: list[str] = []
    for kind, value in lines:
        if kind != "a":
            continue
        key, sep, rest = value.partition(":")
        if key.strip().lower() == name:
            out.append(rest.strip() if sep else "")
    return out


def _first(lines: Iterable[SdpLine], kind: str) -> str | None:
    return next((value for k, value in lines if k == kind), None)


def _direction(lines: Iterable[SdpLine]) -> str | None:
    found = None
    for kind, value in lines:
        if kind == "a" and value.strip().lower() in DIRECTIONS:
            found = value.strip().lower()
    return found


def _connection_address(value: str | None) -> str | None:
    if value is None:
        return None
    parts = value.split()
    return parts[2].split("/")[0] if len(parts) >= 3 else None


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a consumer needs to know about one RTP format of a media section."""

    kind: str  # "video", "audio" or "application"
    codec: str  # upper-case encoding name: "H264", "H265", "PCMU", "MPEG4-GENERIC" …
    payload_type: int
    clock_rate: int
    channels: int
    control_url: str
    direction: str  # as the consumer reads it, e.g. "recvonly" (we receive)
    fmtp: Mapping[str, str] = field(default_factory=dict)

    @property
    def profile_level_id(self) -> str | None:
        """H.264 ``profile-level-id`` (e.g. ``42e01f``), lower-case, if given."""
        value = self.fmtp.get("profile-level-id")
        return value.lower() if value else None

    def base64_units(self, key: str) -> tuple[bytes, ...]:
        """NAL units in a base64 fmtp list (invalid entries skipped)."""
        units: list[bytes] = []
        for item in self.fmtp.get(key, "").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                nal = base64.b64decode(item + "=" * (-len(item) % 4), validate=True)
            except (binascii.Error, ValueError):
                continue  # a broken sprop is survivable: parameter sets usually come in band
            if nal:
                units.append(nal)
        return tuple(units)

    @property
    def sprop_parameter_sets(self) -> tuple[bytes, ...]:
        """Out-of-band parameter sets: H.264 SPS/PPS, or H.265 VPS/SPS/PPS (RFC 7798)."""
        if self.codec == "H265":
            return tuple(
                unit
                for key in ("sprop-vps", "sprop-sps", "sprop-pps")
                for unit in self.base64_units(key)
            )
        return self.base64_units("sprop-parameter-sets")


def _parse_rtpmap(value: str) -> tuple[int, Codec] | None:
    pt_text, _, spec = value.partition(" ")
    pieces = spec.strip().split("/")
    if not pt_text.isdecimal() or len(pieces) < 2 or not pieces[1].strip().isdecimal():
        return None
    pt = int(pt_text)
    rate = int(pieces[1])
    channels = pieces[2].strip() if len(pieces) > 2 else "1"
    if pt > 127 or not 0 < rate < 1 << 32:
        return None
    count = int(channels) if channels.isdecimal() and 0 < int(channels) < 256 else 1
    return pt, (pieces[0].strip().upper(), rate, count)


def _parse_fmtp(value: str) -> tuple[int, dict[str, str]] | None:
    pt_text, _, spec = value.partition(" ")
    if not pt_text.isdecimal() or int(pt_text) > 127:
        return None
    params: dict[str, str] = {}
    for item in spec.split(";"):
        key, sep, val = item.strip().partition("=")
        if key:
            params[key.strip().lower()] = val.strip() if sep else ""
    return int(pt_text), params


@dataclass(frozen=True, slots=True)
class SdpMedia:
    """One ``m=`` section and every line under it, in order."""

    kind: str  # "video", "audio", "application"
    port: int
    protocol: str  # "RTP/AVP", "TCP/RTP/AVP", "UDP/TLS/RTP/SAVPF" …
    formats: tuple[str, ...]  # as written; RTP payload types are decimal strings
    lines: tuple[SdpLine, ...] = ()
    port_count: int | None = None  # the "/2" of "m=video 5000/2 …"

    @property
    def payload_types(self) -> tuple[int, ...]:
        """The formats that are RTP payload types (0..127), in order."""
        return tuple(int(f) for f in self.formats if f.isdecimal() and int(f) < 128)

    @property
    def direction(self) -> str | None:
        """``sendonly``/``recvonly``/``sendrecv``/``inactive`` as written, else None."""
        return _direction(self.lines)

    @property
    def connection(self) -> str | None:
        """The address of this section's ``c=`` line, if it has one."""
        return _connection_address(_first(self.lines, "c"))

    def attributes(self, name: str) -> list[str]:
        """Values of every ``a=name[:value]`` line (``""`` for flags), in order."""
        return _attribute_values(self.lines, name.lower())

    def attribute(self, name: str) -> str | None:
        """Value of the first ``a=name[:value]`` line, or None."""
        values = self.attributes(name)
        return values[0] if values else None

    @property
    def rtpmap(self) -> dict[int, Codec]:
        """Payload type → (encoding, clock rate, channels), static types included."""
        found: dict[int, Codec] = {}
        for value in self.attributes("rtpmap"):
            parsed = _parse_rtpmap(value)
            if parsed is not None:
                found[parsed[0]] = parsed[1]
        for pt in self.payload_types:
            if pt not in found and pt in STATIC_PAYLOAD_TYPES:
                found[pt] = STATIC_PAYLOAD_TYPES[pt]
        return found

    @property
    def fmtp(self) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {}
        for value in self.attributes("fmtp"):
            parsed = _parse_fmtp(value)
            if parsed is not None:
                found[parsed[0]] = parsed[1]
        return found

    @property
    def codecs(self) -> tuple[str, ...]:
        """Encoding names of the payload types, in format order (unknown ones left out)."""
        rtpmap = self.rtpmap
        return tuple(rtpmap[pt][0] for pt in self.payload_types if pt in rtpmap)

    def track(
        self, payload_type: int | None = None, *, control_url: str = "", direction: str = ""
    ) -> TrackInfo | None:
        """The track for ``payload_type`` (default: the first format), None if unknown."""
        pts = self.payload_types
        pt = pts[0] if payload_type is None and pts else payload_type
        if pt is None or pt not in pts:
            return None
        codec = self.rtpmap.get(pt)
        if codec is None:
            return None
        name, rate, channels = codec
        return TrackInfo(
            kind=self.kind,
            codec=name,
            payload_type=pt,
            clock_rate=rate,
            channels=channels,
            control_url=control_url,
            direction=direction or self.direction or "sendrecv",
            fmtp=dict(self.fmtp.get(pt, {})),
        )

    def tracks(self, *, control_url: str = "", direction: str = "") -> list[TrackInfo]:
        """A track for every payload type with a known codec, in the order listed."""
        found = (
            self.track(pt, control_url=control_url, direction=direction)
            for pt in self.payload_types
        )
        return [t for t in found if t is not None]

    def with_lines(self, lines: Iterable[SdpLine]) -> SdpMedia:
        return SdpMedia(
            self.kind, self.port, self.protocol, self.formats, tuple(lines), self.port_count
        )

    def media_line(self) -> str:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        return " ".join((self.kind, port, self.protocol, *self.formats))


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP: the session lines, the media sections, and GB/T 28181's y=/f=."""

    lines: tuple[SdpLine, ...] = ()  # session-level lines before the first m=, in order
    media: tuple[SdpMedia, ...] = ()
    ssrc: str | None = None  # GB/T 28181 "y=": ten decimal digits
    media_format: str | None = None  # GB/T 28181 "f=": "v/2/4/25/1/4096a/1/8/1" …

    @property
    def session_name(self) -> str:
        return _first(self.lines, "s") or ""

    @property
    def origin(self) -> str | None:
        return _first(self.lines, "o")

    @property
    def connection(self) -> str | None:
        """The address of the session-level ``c=`` line, if any."""
        return _connection_address(_first(self.lines, "c"))

    @property
    def uri(self) -> str | None:
        """The ``u=`` line: GB/T 28181 puts ``channel:type`` there for playback."""
        found = _first(self.lines, "u")
        if found is not None:
            return found
        return next((v for m in self.media for k, v in m.lines if k == "u"), None)

    @property
    def timing(self) -> tuple[int, int]:
        """``t=`` start and stop (NTP or, in GB/T 28181 playback, Unix seconds)."""
        value = _first(self.lines, "t") or "0 0"
        parts = value.split()
        if len(parts) != 2 or not all(p.isdecimal() for p in parts):
            raise SdpError(f"SDP time line 't={value[:40]}' is not two numbers")
        return int(parts[0]), int(parts[1])

    @property
    def direction(self) -> str | None:
        """The session-level direction attribute, if any."""
        return _direction(self.lines)

    def attributes(self, name: str) -> list[str]:
        return _attribute_values(self.lines, name.lower())

    def attribute(self, name: str) -> str | None:
        values = self.attributes(name)
        return values[0] if values else None

    def media_direction(self, media: SdpMedia, default: str) -> str:
        """A section's direction: its own, else the session's, else ``default``."""
        return media.direction or self.direction or default

    def encode(self) -> str:
        """The SDP text, CRLF line ends; ``y=`` and ``f=`` come last."""
        out = [f"{kind}={value}" for kind, value in self.lines]
        for media in self.media:
            out.append(f"m={media.media_line()}")
            out.extend(f"{kind}={value}" for kind, value in media.lines)
        if self.ssrc is not None:
            out.append(f"y={self.ssrc}")
        if self.media_format is not None:
            out.append(f"f={self.media_format}")
        return "\r\n".join(out) + "\r\n"


def _media_line(value: str) -> SdpMedia:
    fields = value.split()
    if len(fields) < 3:
        raise SdpError(f"SDP media line 'm={value[:80]}' has fewer than 3 fields")
    port_text, slash, count_text = fields[1].partition("/")
    if not port_text.isascii() or not port_text.isdecimal() or int(port_text) > 65535:
        raise SdpError(f"SDP media line 'm={value[:80]}' has no port in 0..65535")
    count: int | None = None
    if slash:
        if (
            not count_text.isascii()
            or not count_text.isdecimal()
            or not 0 < int(count_text) < 65536
        ):
            raise SdpError(f"SDP media line 'm={value[:80]}' has a bad port count")
        count = int(count_text)
    return SdpMedia(fields[0].lower(), int(port_text), fields[2], tuple(fields[3:]), (), count)


def parse_sdp(text: str | bytes) -> SessionDescription:
    """Parse an SDP body (any line ends); :class:`SdpError` if it is not SDP at all."""
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) > MAX_SDP_BYTES:
            raise SdpError(f"SDP of {len(raw)} bytes exceeds the {MAX_SDP_BYTES}-byte limit")
        text = raw.decode("utf-8", errors="replace")
    elif len(text) > MAX_SDP_BYTES:
        raise SdpError(f"SDP of {len(text)} characters exceeds the {MAX_SDP_BYTES} limit")
    session: list[SdpLine] = []
    media: list[SdpMedia] = []
    current: list[SdpLine] | None = None
    ssrc: str | None = None
    media_format: str | None = None
    seen_version = False
    count = 0
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if len(line) < 2 or line[1] != "=" or not line[0].isascii() or not line[0].isalpha():
            continue  # tolerate blank and junk lines
        count += 1
        if count > MAX_SDP_LINES:
            raise SdpError(f"SDP has more than {MAX_SDP_LINES} lines")
        kind, value = line[0], line[2:]
        if kind == "m":
            if current is not None:
                media[-1] = media[-1].with_lines(current)
            media.append(_media_line(value))
            current = []
        elif kind == "y":
            ssrc = value.strip()
        elif kind == "f":
            media_format = value.strip()
        else:
            seen_version = seen_version or kind == "v"
            (session if current is None else current).append((kind, value))
    if current is not None:
        media[-1] = media[-1].with_lines(current)
    if not seen_version and not media:
        raise SdpError("SDP has neither a 'v=' line nor any 'm=' section")
    return SessionDescription(tuple(session), tuple(media), ssrc, media_format)


def resolve_control(base: str, control: str | None) -> str:
    """Resolve an ``a=control`` value against ``base`` the way cameras mean it."""
    if not control or control == "*":
        return base
    if "://" in control[:10]:
        return control
    if control.startswith("/"):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{control}"
    return base + control if base.endswith("/") else f"{base}/{control}"


def rtsp_controls(sd: SessionDescription, base_url: str) -> tuple[str, tuple[str, ...]]:
    """The aggregate URL (PLAY/TEARDOWN) and each section's SETUP URL.

    ``base_url`` is the DESCRIBE answer's Content-Base, else Content-Location, else the
    request URL.  Like FFmpeg, relative media controls hang below an *absolute* session
    control; a relative session control does not change their base.
    """
    session_control = sd.attribute("control")
    aggregate = resolve_control(base_url, session_control)
    media_base = aggregate if session_control and "://" in session_control[:10] else base_url
    return aggregate, tuple(resolve_control(media_base, m.attribute("control")) for m in sd.media)
