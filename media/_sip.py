"""SIP messages (RFC 3261 §7) as GB/T 28181 exchanges them: parse, build, frame on TCP.

Pure core: no sockets, no transactions (the uplink owns those).

- :class:`SipRequest` and :class:`SipResponse` keep their headers in order as
  ``(name, value)`` pairs; lookup is case-insensitive and knows the compact forms
  (``v`` Via, ``f`` From, ``i`` Call-ID …), which parsing rewrites to the full names;
- ``Content-Length`` is framing, not content: parsing uses it and drops it, ``encode()``
  always writes it last from the body, so ``parse_sip(m.encode()) == m``;
- a datagram is one message (:func:`parse_sip`; one of only CRLFs is a keep-alive ping
  and gives None).  On TCP, :class:`SipStreamDecoder` frames by ``Content-Length``,
  skips keep-alive CRLFs, and bounds a head to 16 KiB and a body to 1 MiB;
- text is UTF-8; bytes that are not (a device's GB2312 display name) survive a round
  trip as surrogate escapes instead of failing the whole message;
- :func:`response_to` builds the response to a request the RFC 3261 §8.2.6 way.

Bad input raises :class:`SipFormatError` only.  A message may lack headers RFC 3261
requires; the typed accessors (``cseq``, ``call_id`` …) raise when they are needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from media._errors import SipFormatError
from media._sip_headers import (
    CSeq,
    NameAddr,
    Via,
    new_tag,
    parse_cseq,
    parse_name_addr,
    parse_via,
    split_unquoted,
)

__all__ = [
    "MAX_SIP_BODY",
    "MAX_SIP_HEAD",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "SipStreamDecoder",
    "parse_sip",
    "response_to",
]

MAX_SIP_HEAD = 16 * 1024
MAX_SIP_BODY = 1024 * 1024
SIP_VERSION = "SIP/2.0"

#: RFC 3261 §7.3.3 and the SIP extensions' compact header forms → full names.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
}
#: Headers whose value is a comma-separated list (RFC 3261 §7.3.1); others never split
#: (WWW-Authenticate, Date and Subject have commas inside one value).
LIST_HEADERS = frozenset(
    {"via", "contact", "route", "record-route", "allow", "supported", "require",
     "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
     "allow-events", "content-encoding", "in-reply-to"}
)  # fmt: skip
REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    202: "Accepted",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
Headers = tuple[tuple[str, str], ...]


def _key(name: str) -> str:
    lower = name.strip().lower()
    full = COMPACT_FORMS.get(lower)
    return full.lower() if full else lower


class _HeaderAccess:
    """Header lookup shared by requests and responses."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive, compact forms too), or None."""
        key = _key(name)
        return next((v for k, v in self.headers if _key(k) == key), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order; list headers (Via, Contact …) split at commas."""
        key = _key(name)
        values = [v for k, v in self.headers if _key(k) == key]
        if key not in LIST_HEADERS:
            return values
        return [p.strip() for v in values for p in split_unquoted(v, ",") if p.strip()]

    def _required(self, name: str) -> str:
        value = self.header(name)
        if value is None:
            raise SipFormatError(f"SIP message has no {name} header")
        return value

    @property
    def call_id(self) -> str:
        return self._required("Call-ID").strip()

    @property
    def cseq(self) -> CSeq:
        return parse_cseq(self._required("CSeq"))

    @property
    def from_addr(self) -> NameAddr:
        return parse_name_addr(self._required("From"))

    @property
    def to_addr(self) -> NameAddr:
        return parse_name_addr(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        """Every Via, topmost first."""
        return [parse_via(v) for v in self.header_all("Via")]

    @property
    def content_type(self) -> str | None:
        """The media type, lower-case, without parameters (``application/manscdp+xml``)."""
        value = self.header("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    def _with_header(self, name: str, value: str) -> Headers:
        key = _key(name)
        for i, (k, _) in enumerate(self.headers):
            if _key(k) == key:
                return (*self.headers[:i], (name, value), *self.headers[i + 1 :])
        return (*self.headers, (name, value))


def _encode(first_line: str, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = [first_line]
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"SIP header name {name!r} is not a token")
        if "\r" in value or "\n" in value:
            raise ValueError(f"SIP header {name} contains a line break")
        if _key(name) == "content-length":
            continue  # always written from the body, below
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


@dataclass(frozen=True, slots=True)
class SipRequest(_HeaderAccess):
    """A request; ``uri`` is the Request-URI as sent (:func:`parse_sip_uri` reads it)."""

    method: str
    uri: str
    headers: Headers = ()
    body: bytes = b""

    def with_header(self, name: str, value: str) -> SipRequest:
        """A copy with header ``name`` replaced in place (or appended): Authorization …"""
        return replace(self, headers=self._with_header(name, value))

    def encode(self) -> bytes:
        if not _TOKEN.fullmatch(self.method) or not self.uri or any(c in self.uri for c in " \r\n"):
            raise ValueError(f"cannot encode SIP request line {self.method!r} {self.uri!r}")
        return _encode(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)


@dataclass(frozen=True, slots=True)
class SipResponse(_HeaderAccess):
    """A response; :func:`response_to` builds one from the request it answers."""

    status: int
    reason: str
    headers: Headers = ()
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def with_header(self, name: str, value: str) -> SipResponse:
        """A copy with header ``name`` replaced in place (or appended)."""
        return replace(self, headers=self._with_header(name, value))

    def encode(self) -> bytes:
        if not 100 <= self.status <= 699 or "\r" in self.reason or "\n" in self.reason:
            raise ValueError(f"cannot encode SIP status line {self.status} {self.reason!r}")
        return _encode(f"{SIP_VERSION} {self.status} {self.reason}", self.headers, self.body)


SipMessage = SipRequest | SipResponse


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]], int | None]:
    text = head.decode("utf-8", "surrogateescape")
    lines = text.replace("\r\n", "\n").split("\n")
    headers: list[tuple[str, str]] = []
    length: int | None = None
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            if not headers:
                raise SipFormatError("SIP message starts its headers with a continuation line")
            name, value = headers[-1]  # obsolete line folding
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not _TOKEN.fullmatch(name):
            raise SipFormatError(f"SIP header line {line[:80]!r} has no 'Name: value' form")
        full = COMPACT_FORMS.get(name.lower())
        headers.append((full or name, value.strip()))
    for i in range(len(headers) - 1, -1, -1):
        if headers[i][0].lower() == "content-length":
            value = headers.pop(i)[1]
            if not (value.isascii() and value.isdigit()) or len(value) > 9:
                raise SipFormatError(f"SIP Content-Length {value[:20]!r} is not a number")
            if length is not None and int(value) != length:
                raise SipFormatError("SIP message has two different Content-Length values")
            length = int(value)
    return lines[0].strip(), headers, length


def _build(first: str, headers: list[tuple[str, str]], body: bytes) -> SipMessage:
    hdrs = tuple(headers)
    if first.upper().startswith("SIP/"):
        parts = first.split(" ", 2)
        if parts[0].upper() != SIP_VERSION or len(parts) < 2:
            raise SipFormatError(f"SIP status line {first[:80]!r} is malformed")
        code = parts[1]
        if len(code) != 3 or not (code.isascii() and code.isdigit()) or not 100 <= int(code) <= 699:
            raise SipFormatError(f"SIP status code {code[:10]!r} is not 100..699")
        return SipResponse(int(code), parts[2].strip() if len(parts) > 2 else "", hdrs, body)
    parts = first.split()
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or parts[2].upper() != SIP_VERSION:
        raise SipFormatError(f"SIP request line {first[:80]!r} is malformed")
    return SipRequest(parts[0], parts[1], hdrs, body)


def _head_end(data: bytes | bytearray, start: int, search_from: int = 0) -> tuple[int, int] | None:
    """(end of head, start of body) of the message at ``start``, None if incomplete."""
    limit = start + MAX_SIP_HEAD + 4
    search_from = max(start, search_from)
    crlf = data.find(b"\r\n\r\n", search_from, limit)
    lf = data.find(b"\n\n", search_from, limit)
    if crlf < 0 and lf < 0:
        if len(data) - start > MAX_SIP_HEAD:
            raise SipFormatError(f"SIP message head exceeds {MAX_SIP_HEAD} bytes")
        return None
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, crlf + 4
    return lf, lf + 2


def parse_sip(datagram: bytes | bytearray | memoryview) -> SipMessage | None:
    """Parse one UDP datagram; None for a keep-alive ping (only CR/LF bytes).

    Without ``Content-Length`` the body is the rest of the datagram (RFC 3261 §18.3);
    with one, bytes past it are dropped and a shorter body raises.
    """
    data = bytes(datagram)
    start = len(data) - len(data.lstrip(b"\r\n"))
    if start == len(data):
        return None
    if len(data) - start > MAX_SIP_HEAD + MAX_SIP_BODY:
        raise SipFormatError(f"SIP datagram of {len(data)} bytes is too large")
    ends = _head_end(data, start)
    if ends is None:
        raise SipFormatError("SIP datagram has no blank line after its headers")
    first, headers, length = _parse_head(data[start : ends[0]])
    body = data[ends[1] :]
    if length is not None:
        if length > len(body):
            raise SipFormatError(
                f"SIP Content-Length {length} exceeds the {len(body)} bytes received"
            )
        body = body[:length]
    if len(body) > MAX_SIP_BODY:
        raise SipFormatError(f"SIP body exceeds {MAX_SIP_BODY} bytes")
    return _build(first, headers, body)


class SipStreamDecoder:
    """Incremental decoder for SIP over TCP: feed bytes, get whole messages.

    Framing is by ``Content-Length`` (0 when absent); CR/LF between messages (keep-alive,
    RFC 5626 §3.5.1) is skipped.  A head over 16 KiB or a body over 1 MiB raises
    :class:`SipFormatError`: the stream cannot be resynchronised, close it.
    """

    __slots__ = ("_buf", "_head", "_scanned")

    def __init__(self) -> None:
        self._buf = bytearray()
        # the parsed head of the message whose body is awaited: first line, headers,
        # body length, head size — parsed once however slowly the body trickles in
        self._head: tuple[str, list[tuple[str, str]], int, int] | None = None
        self._scanned = 0  # bytes of _buf already searched for the end of a head

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf) + (self._head[3] if self._head else 0)

    def feed(self, data: bytes | bytearray | memoryview) -> list[SipMessage]:
        buf = self._buf
        buf += data
        out: list[SipMessage] = []
        while True:
            if self._head is None:
                skip = len(buf) - len(buf.lstrip(b"\r\n"))
                if skip:
                    del buf[:skip]
                    self._scanned = 0
                if not buf:
                    break
                ends = _head_end(buf, 0, max(0, self._scanned - 3))
                if ends is None:
                    self._scanned = len(buf)
                    break
                first, headers, length = _parse_head(bytes(buf[: ends[0]]))
                if (length or 0) > MAX_SIP_BODY:
                    raise SipFormatError(
                        f"SIP body of {length} bytes exceeds the {MAX_SIP_BODY}-byte limit"
                    )
                del buf[: ends[1]]
                self._head, self._scanned = (first, headers, length or 0, ends[1]), 0
            first, headers, length, _ = self._head
            if len(buf) < length:
                break
            body = bytes(buf[:length])
            del buf[:length]
            self._head = None
            out.append(_build(first, headers, body))
        return out


def response_to(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    source: tuple[str, int] | None = None,
) -> SipResponse:
    """The response to ``request``: its Via(s), From, To, Call-ID and CSeq (and
    Record-Route on 1xx/2xx), then ``headers`` — Contact, Expires, Date … are the caller's.

    A To without a tag gets ``to_tag`` (a new one if None) unless the status is 100
    (RFC 3261 §8.2.6.2).  ``source`` — the (host, port) the request came from — is
    written into the top Via as ``received`` (and ``rport`` when asked for, RFC 3581).
    """
    copied: list[tuple[str, str]] = []
    vias = request.header_all("Via")
    for index, via in enumerate(vias):
        if index == 0 and source is not None:
            via = parse_via(via).with_received(*source).encode()
        copied.append(("Via", via))
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.header(name)
        if value is None:
            raise SipFormatError(f"cannot answer a SIP request without {name}")
        if name == "To" and status > 100 and parse_name_addr(value).tag is None:
            value = f"{value};tag={to_tag or new_tag()}"
        copied.append((name, value))
    if 100 < status < 300:  # a dialog-creating answer keeps the proxies' route (§12.1.1)
        copied += [("Record-Route", v) for v in request.header_all("Record-Route")]
    copied += headers
    return SipResponse(status, reason or REASONS.get(status, "Unknown"), tuple(copied), body)
