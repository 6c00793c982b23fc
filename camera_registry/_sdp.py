"""SDP (RFC 4566) as RTSP cameras write it, with the usual quirks.  Pure core.

- A media section without a direction attribute is ``recvonly`` (the camera sends);
  the ONVIF backchannel section says ``a=sendonly`` (the client sends).  Directions are
  seen from the client, as ONVIF cameras write them.
- ``a=control`` may be ``*``, absolute (``rtsp://…``), absolute-path (``/…``) or relative
  (``trackID=1``, ``stream=1``); relative controls are appended to the base URL with a
  ``/``, as cameras and FFmpeg expect (not RFC 3986 resolution, which would drop the
  last path segment of a base without a trailing slash).
- The base URL is the response's ``Content-Base``, else ``Content-Location``, else the
  DESCRIBE URL.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from camera_registry._errors import MalformedMediaError

__all__ = [
    "SdpMedia",
    "SessionDescription",
    "TrackInfo",
    "parse_sdp",
    "resolve_control",
]

_DIRECTIONS = frozenset({"sendonly", "recvonly", "sendrecv", "inactive"})

# RFC 3551 static payload types cameras use without an rtpmap line.
_STATIC_PT: Mapping[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    14: ("MPA", 90000, 1),
    26: ("JPEG", 90000, 1),
    32: ("MPV", 90000, 1),
    33: ("MP2T", 90000, 1),
}


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What a consumer needs to know about one track (from the camera's SDP)."""

    kind: str  # "video", "audio" or "application"
    codec: str  # upper-case encoding name: "H264", "PCMU", "PCMA", "MPEG4-GENERIC" …
    payload_type: int
    clock_rate: int
    channels: int
    control_url: str
    direction: str  # seen from the client: "recvonly" (we receive), "sendonly" (we send)
    fmtp: Mapping[str, str] = field(default_factory=dict)

    @property
    def profile_level_id(self) -> str | None:
        """H.264 ``profile-level-id`` (e.g. ``42e01f``), lower-case, if given."""
        value = self.fmtp.get("profile-level-id")
        return value.lower() if value else None

    @property
    def sprop_parameter_sets(self) -> tuple[bytes, ...]:
        """H.264 SPS/PPS NAL units from ``sprop-parameter-sets`` (invalid entries skipped)."""
        value = self.fmtp.get("sprop-parameter-sets", "")
        units: list[bytes] = []
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                nal = base64.b64decode(item + "=" * (-len(item) % 4), validate=True)
            except (binascii.Error, ValueError):
                continue  # a broken sprop is survivable: SPS/PPS usually come in band
            if nal:
                units.append(nal)
        return tuple(units)


@dataclass(frozen=True, slots=True)
class SdpMedia:
    """One ``m=`` section: every payload type it lists, with rtpmap and fmtp."""

    kind: str
    port: int
    protocol: str
    formats: tuple[int, ...]
    direction: str
    control_url: str
    rtpmap: Mapping[int, tuple[str, int, int]]
    fmtp: Mapping[int, Mapping[str, str]]

    def track(self, payload_type: int | None = None) -> TrackInfo | None:
        """The track for ``payload_type`` (default: the first format), or None if unknown."""
        pt = self.formats[0] if payload_type is None and self.formats else payload_type
        if pt is None or pt not in self.formats:
            return None
        codec = self.rtpmap.get(pt) or _STATIC_PT.get(pt)
        if codec is None:
            return None
        name, rate, channels = codec
        return TrackInfo(
            kind=self.kind,
            codec=name,
            payload_type=pt,
            clock_rate=rate,
            channels=channels,
            control_url=self.control_url,
            direction=self.direction,
            fmtp=dict(self.fmtp.get(pt, {})),
        )

    def tracks(self) -> list[TrackInfo]:
        """A track for every format with a known codec, in the order listed."""
        return [t for t in (self.track(pt) for pt in self.formats) if t is not None]


@dataclass(frozen=True, slots=True)
class SessionDescription:
    media: tuple[SdpMedia, ...]
    aggregate_url: str  # the URL for PLAY/TEARDOWN of the whole session
    session_name: str = ""


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


def _parse_rtpmap(value: str) -> tuple[int, tuple[str, int, int]] | None:
    pt_text, _, spec = value.partition(" ")
    pieces = spec.strip().split("/")
    if not pt_text.isdigit() or len(pieces) < 2 or not pieces[1].strip().isdigit():
        return None
    channels = pieces[2].strip() if len(pieces) > 2 else "1"
    return int(pt_text), (
        pieces[0].strip().upper(),
        int(pieces[1]),
        int(channels) if channels.isdigit() else 1,
    )


def _parse_fmtp(value: str) -> tuple[int, dict[str, str]] | None:
    pt_text, _, spec = value.partition(" ")
    if not pt_text.isdigit():
        return None
    params: dict[str, str] = {}
    for item in spec.split(";"):
        key, sep, val = item.strip().partition("=")
        if key:
            params[key.strip().lower()] = val.strip() if sep else ""
    return int(pt_text), params


class _MediaBuilder:
    def __init__(self, kind: str, port: int, protocol: str, formats: tuple[int, ...]) -> None:
        self.kind = kind
        self.port = port
        self.protocol = protocol
        self.formats = formats
        self.direction: str | None = None
        self.control: str | None = None
        self.rtpmap: dict[int, tuple[str, int, int]] = {}
        self.fmtp: dict[int, dict[str, str]] = {}


def _media_line(value: str) -> _MediaBuilder:
    fields = value.split()
    if len(fields) < 3:
        raise MalformedMediaError(f"SDP media line 'm={value[:80]}' has fewer than 3 fields")
    port_text = fields[1].split("/")[0]
    if not port_text.isdigit():
        raise MalformedMediaError(f"SDP media line 'm={value[:80]}' has no numeric port")
    formats = tuple(int(f) for f in fields[3:] if f.isdigit() and int(f) < 128)
    return _MediaBuilder(fields[0].lower(), int(port_text), fields[2], formats)


def parse_sdp(text: str | bytes, base_url: str) -> SessionDescription:
    """Parse an SDP body; ``base_url`` is Content-Base/Content-Location/request URL."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    session_control: str | None = None
    session_direction: str | None = None
    session_name = ""
    builders: list[_MediaBuilder] = []
    seen_version = False
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue  # tolerate blank and junk lines, as cameras need us to
        kind, value = line[0], line[2:]
        if kind == "v":
            seen_version = True
        elif kind == "s" and not builders:
            session_name = value
        elif kind == "m":
            builders.append(_media_line(value))
        elif kind == "a":
            name, _, attr = value.partition(":")
            name = name.strip().lower()
            current = builders[-1] if builders else None
            if name == "control":
                if current is None:
                    session_control = attr.strip()
                else:
                    current.control = attr.strip()
            elif name in _DIRECTIONS:
                if current is None:
                    session_direction = name
                else:
                    current.direction = name
            elif current is not None and name == "rtpmap":
                parsed = _parse_rtpmap(attr.strip())
                if parsed is not None:
                    current.rtpmap[parsed[0]] = parsed[1]
            elif current is not None and name == "fmtp":
                fmtp = _parse_fmtp(attr.strip())
                if fmtp is not None:
                    current.fmtp[fmtp[0]] = fmtp[1]
    if not seen_version and not builders:
        raise MalformedMediaError("SDP has neither a 'v=' line nor any 'm=' section")
    aggregate = resolve_control(base_url, session_control)
    # Like FFmpeg: relative media controls hang below an *absolute* session control;
    # a relative session control does not change their base.
    media_base = aggregate if session_control and "://" in session_control[:10] else base_url
    media = tuple(
        SdpMedia(
            kind=b.kind,
            port=b.port,
            protocol=b.protocol,
            formats=b.formats,
            direction=b.direction or session_direction or "recvonly",
            control_url=resolve_control(media_base, b.control),
            rtpmap=b.rtpmap,
            fmtp=b.fmtp,
        )
        for b in builders
    )
    return SessionDescription(media=media, aggregate_url=aggregate, session_name=session_name)
