"""RTSP/1.0 wire format (RFC 2326): messages and the ``$`` interleaved framing.

Pure core: no asyncio.  :class:`RtspStreamDecoder` is an incremental decoder for the
byte stream of one RTSP-over-TCP connection, which mixes RTSP messages (responses, and
the occasional request a camera sends to its client) with interleaved binary frames
``$ <channel:u8> <length:u16> <payload>`` (RFC 2326 §10.12).  Interleaved payloads are
returned as zero-copy ``memoryview`` slices of an immutable buffer, so the media hot
loop allocates nothing until the depacketizer assembles a frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from media._errors import RtspFormatError

__all__ = [
    "Interleaved",
    "RtspMessage",
    "RtspRequest",
    "RtspResponse",
    "RtspStreamDecoder",
    "encode_interleaved",
    "encode_request",
    "encode_response",
]

RTSP_VERSION = "RTSP/1.0"
MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
_DOLLAR = 0x24

# (channel, payload): a plain tuple is the cheapest thing to hand out per packet.
Interleaved = tuple[int, memoryview]


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


@dataclass(frozen=True, slots=True)
class RtspRequest:
    """An RTSP request; cameras rarely send them (GET_PARAMETER, ANNOUNCE) but may."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        return _header(self.headers, name)

    @property
    def cseq(self) -> int | None:
        return _parse_cseq(self.header("CSeq"))


@dataclass(frozen=True, slots=True)
class RtspResponse:
    """An RTSP response: status line, headers in order, body bytes."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        return _header(self.headers, name)

    def header_all(self, name: str) -> list[str]:
        """Every value of header ``name``: WWW-Authenticate may come several times."""
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    @property
    def cseq(self) -> int | None:
        return _parse_cseq(self.header("CSeq"))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _parse_cseq(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def _encode_head(first_line: str, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = [first_line]
    has_length = False
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise ValueError(f"RTSP header {name!r} contains a line break or colon")
        has_length = has_length or name.lower() == "content-length"
        lines.append(f"{name}: {value}")
    if body and not has_length:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8") + body


def encode_request(
    method: str, url: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    """Serialise a request; ``Content-Length`` is added when there is a body."""
    if not method.replace("_", "").isalpha() or " " in url or not url:
        raise ValueError(f"cannot encode RTSP request line {method!r} {url!r}")
    return _encode_head(f"{method} {url} {RTSP_VERSION}", headers, body)


def encode_response(
    status: int, reason: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    """Serialise a response (used by test servers and to answer camera requests)."""
    if not 100 <= status <= 999 or "\r" in reason or "\n" in reason:
        raise ValueError(f"cannot encode RTSP status line {status} {reason!r}")
    return _encode_head(f"{RTSP_VERSION} {status} {reason}", headers, body)


def encode_interleaved(channel: int, payload: bytes) -> bytes:
    """Frame ``payload`` for interleaved channel ``channel`` (``$`` + u8 + u16 + data)."""
    if not 0 <= channel <= 255:
        raise ValueError(f"interleaved channel {channel} is outside 0..255")
    if len(payload) > 0xFFFF:
        raise ValueError(f"interleaved payload of {len(payload)} bytes exceeds 65535")
    return b"$" + bytes((channel, len(payload) >> 8, len(payload) & 0xFF)) + payload


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    # latin-1 never fails and maps bytes 1:1; header values are ASCII in practice.
    text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].strip()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            # obsolete line folding: continuation of the previous header value
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise RtspFormatError(f"RTSP header line {line[:80]!r} has no 'Name: value' form")
        headers.append((name.strip(), value.strip()))
    return first, headers


def _content_length(headers: list[tuple[str, str]]) -> int:
    for name, value in headers:
        if name.lower() == "content-length":
            value = value.strip()
            if not value.isdigit():
                raise RtspFormatError(f"RTSP Content-Length {value[:40]!r} is not a number")
            length = int(value)
            if length > MAX_BODY_BYTES:
                raise RtspFormatError(
                    f"RTSP body of {length} bytes exceeds the {MAX_BODY_BYTES}-byte limit"
                )
            return length
    return 0


def _build_message(first: str, headers: list[tuple[str, str]], body: bytes) -> RtspMessage:
    hdrs = tuple(headers)
    if first.startswith("RTSP/"):
        parts = first.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
            raise RtspFormatError(f"RTSP status line {first[:80]!r} is malformed")
        return RtspResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", hdrs, body)
    parts = first.split(" ")
    if (
        len(parts) != 3
        or not parts[0].replace("_", "").isalpha()
        or not parts[2].startswith("RTSP/")
    ):
        raise RtspFormatError(f"RTSP request line {first[:80]!r} is malformed")
    return RtspRequest(parts[0], parts[1], hdrs, body)


RtspMessage = RtspRequest | RtspResponse


class RtspStreamDecoder:
    """Incremental decoder: feed it received bytes, get messages and interleaved frames.

    ``feed`` returns, in stream order, :class:`RtspResponse`/:class:`RtspRequest`
    objects and ``(channel, payload)`` tuples.  Bytes that cannot start either raise
    :class:`RtspFormatError`; the connection is then beyond repair.  Feeding may be
    split at any byte boundary.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame or message."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Interleaved | RtspMessage]:
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        view = memoryview(buf)
        n = len(buf)
        pos = 0
        out: list[Interleaved | RtspMessage] = []
        append = out.append
        try:
            while pos < n:
                first = buf[pos]
                if first == _DOLLAR:
                    if n - pos < 4:
                        break
                    end = pos + 4 + ((buf[pos + 2] << 8) | buf[pos + 3])
                    if end > n:
                        break
                    append((buf[pos + 1], view[pos + 4 : end]))
                    pos = end
                elif first in (0x0D, 0x0A):
                    # stray CRLF between messages (some servers add one after a body)
                    pos += 1
                elif 0x41 <= first <= 0x5A or 0x61 <= first <= 0x7A:
                    consumed = self._message(buf, pos, append)
                    if consumed == 0:
                        break
                    pos += consumed
                else:
                    raise RtspFormatError(
                        f"unexpected byte 0x{first:02x} where an RTSP message or "
                        "'$' interleaved frame should start"
                    )
        finally:
            self._buf = buf[pos:] if pos < n else b""
        return out

    @staticmethod
    def _message(buf: bytes, pos: int, append: Callable[[Interleaved | RtspMessage], None]) -> int:
        crlf = buf.find(b"\r\n\r\n", pos, pos + MAX_HEAD_BYTES + 4)
        lf = buf.find(b"\n\n", pos, pos + MAX_HEAD_BYTES + 2)
        if crlf < 0 and lf < 0:
            if len(buf) - pos > MAX_HEAD_BYTES:
                raise RtspFormatError(
                    f"RTSP message head exceeds {MAX_HEAD_BYTES} bytes without a blank line"
                )
            return 0
        if crlf >= 0 and (lf < 0 or crlf < lf):
            head_end, body_start = crlf, crlf + 4
        else:
            head_end, body_start = lf, lf + 2
        first, headers = _parse_head(buf[pos:head_end])
        length = _content_length(headers)
        if body_start + length > len(buf):
            return 0
        message = _build_message(first, headers, buf[body_start : body_start + length])
        append(message)
        return body_start + length - pos
