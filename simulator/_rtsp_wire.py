"""RTSP/1.0 wire format for the server side (RFC 2326): requests in, responses out.

Pure code.  A client's TCP stream mixes RTSP requests with ``$``-framed interleaved
RTP/RTCP (the backchannel audio and receiver reports), so :class:`RtspServerParser` yields
both, in order, from whatever chunks arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "InterleavedFrame",
    "RtspRequest",
    "RtspServerParser",
    "TransportSpec",
    "format_response",
    "parse_transport",
]

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 1024 * 1024

REASONS: Mapping[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    551: "Option not supported",
}


class Headers:
    """Case-insensitive RTSP headers that keep repeated fields (WWW-Authenticate)."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = items or []

    def get(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.items:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.items if key.lower() == lowered]


@dataclass(frozen=True, slots=True)
class RtspRequest:
    method: str
    url: str
    headers: Headers
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        return self.headers.get("CSeq")

    def require(self) -> set[str]:
        """Option tags of every Require header, e.g. ``www.onvif.org/ver20/backchannel``."""
        tags: set[str] = set()
        for value in self.headers.get_all("Require"):
            tags.update(tag.strip() for tag in value.split(",") if tag.strip())
        return tags


@dataclass(frozen=True, slots=True)
class InterleavedFrame:
    channel: int
    payload: bytes


class RtspServerParser:
    """Incremental parser of a client's byte stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[RtspRequest | InterleavedFrame]:
        self._buffer += data
        messages: list[RtspRequest | InterleavedFrame] = []
        while self._buffer:
            if self._buffer[0] == 0x24:  # "$"
                if len(self._buffer) < 4:
                    break
                length = int.from_bytes(self._buffer[2:4], "big")
                if len(self._buffer) < 4 + length:
                    break
                messages.append(
                    InterleavedFrame(self._buffer[1], bytes(self._buffer[4 : 4 + length]))
                )
                del self._buffer[: 4 + length]
                continue
            if self._buffer[0] in b"\r\n":
                # Stray line ends between messages are tolerated (some clients send them).
                del self._buffer[:1]
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end == -1:
                if len(self._buffer) > _MAX_HEADER_BYTES:
                    raise ValueError("RTSP request header exceeds 64 KiB without a blank line")
                break
            request, consumed = _parse_request(bytes(self._buffer[: end + 4]), self._buffer)
            if request is None:
                break
            messages.append(request)
            del self._buffer[:consumed]
        return messages


def _parse_request(head: bytes, buffer: bytearray) -> tuple[RtspRequest | None, int]:
    lines = head.decode("utf-8", errors="replace").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("RTSP/"):
        raise ValueError(f"malformed RTSP request line {lines[0]!r}")
    items: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed RTSP header line {line!r}")
        items.append((name.strip(), value.strip()))
    headers = Headers(items)
    length = int(headers.get("Content-Length", "0") or "0")
    if not 0 <= length <= _MAX_BODY_BYTES:
        raise ValueError(f"RTSP Content-Length {length} is out of range")
    if len(buffer) < len(head) + length:
        return None, 0
    body = bytes(buffer[len(head) : len(head) + length])
    return RtspRequest(parts[0].upper(), parts[1], headers, body), len(head) + length


def format_response(
    status: int,
    cseq: str | None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"RTSP/1.0 {status} {REASONS.get(status, 'Unknown')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append("Server: zongzhi-simulator/1.0")
    lines.extend(f"{name}: {value}" for name, value in headers or [])
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True, slots=True)
class TransportSpec:
    """The parts of a SETUP Transport header this server acts on."""

    tcp: bool
    interleaved: tuple[int, int] | None
    params: dict[str, str] = field(default_factory=dict)


def parse_transport(value: str) -> TransportSpec:
    """Parse the first transport of a Transport header (clients list preferences)."""
    first = value.split(",")[0]
    fields = [f.strip() for f in first.split(";") if f.strip()]
    if not fields:
        raise ValueError("empty Transport header")
    protocol = fields[0].upper()
    params: dict[str, str] = {}
    for item in fields[1:]:
        key, _, val = item.partition("=")
        params[key.lower()] = val
    interleaved: tuple[int, int] | None = None
    if "interleaved" in params:
        low, _, high = params["interleaved"].partition("-")
        rtp = int(low)
        interleaved = (rtp, int(high) if high else rtp + 1)
        if not (0 <= interleaved[0] <= 255 and 0 <= interleaved[1] <= 255):
            raise ValueError(f"interleaved channels {params['interleaved']} are out of range")
    return TransportSpec(protocol.endswith("/TCP"), interleaved, params)
