"""SIP header values (RFC 3261 §19, §20, §25): URIs, name-addr, Via, CSeq; new branches,
tags and Call-IDs.  Pure core.

Each value type is a frozen dataclass with a ``parse_…`` function and an ``encode()``
that writes it back (``parse(x.encode()) == x``).  Parameters keep their order as
``(name, value)`` pairs, ``value`` None for a flag (``;rport``, ``;lr``); names are
compared case-insensitively.  Malformed text raises :class:`SipFormatError` only.

GB/T 28181 uses the plain forms: ``sip:<20-digit id>@<ip:port or 10-digit domain>``,
``<sip:…>;tag=…`` in From/To, and ``SIP/2.0/UDP ip:port;rport;branch=z9hG4bK…`` in Via,
where the platform answers with ``;received=<ip>;rport=<port>`` — the address it sees,
which wvp then uses to reach the device (gb28181.md §8).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from media._errors import SipFormatError

__all__ = [
    "BRANCH_MAGIC",
    "CSeq",
    "NameAddr",
    "Params",
    "SipUri",
    "Via",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_cseq",
    "parse_name_addr",
    "parse_sip_uri",
    "parse_via",
]

#: RFC 3261 §8.1.1.7: every branch this implementation creates starts with it.
BRANCH_MAGIC = "z9hG4bK"
Params = tuple[tuple[str, str | None], ...]

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]+")
_TRANSPORTS = ("UDP", "TCP", "TLS", "SCTP", "WS", "WSS")


def new_branch() -> str:
    """A fresh Via branch: the RFC 3261 magic cookie plus 64 random bits."""
    return BRANCH_MAGIC + os.urandom(8).hex()


def new_tag() -> str:
    """A fresh From/To tag (64 random bits, hex)."""
    return os.urandom(8).hex()


def new_call_id(host: str | None = None) -> str:
    """A fresh Call-ID: 128 random bits, ``@host`` appended when given."""
    value = os.urandom(16).hex()
    return f"{value}@{host}" if host else value


def _param(params: Params, name: str) -> str | None:
    lname = name.lower()
    for key, value in params:
        if key.lower() == lname:
            return "" if value is None else value
    return None


def split_unquoted(text: str, sep: str) -> list[str]:
    """Split at ``sep`` except inside a quoted string or ``<…>``."""
    parts, start, quoted, angle, i = [], 0, False, False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "<>":
            angle = ch == "<"
        elif ch == sep and not quoted and not angle:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _parse_params(text: str, what: str) -> Params:
    """``;a=1;b;c="x"`` (leading ``;`` optional) → (("a", "1"), ("b", None), ("c", '"x"'))."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith(";"):
        text = text[1:]
    out: list[tuple[str, str | None]] = []
    for part in split_unquoted(text, ";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not _TOKEN.fullmatch(name):
            raise SipFormatError(f"{what} parameter {part.strip()[:40]!r} has no valid name")
        value = value.strip()
        if sep and not value:
            raise SipFormatError(f"{what} parameter {name!r} has an empty value")
        out.append((name, value if sep else None))
    return tuple(out)


def _encode_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _parse_hostport(text: str, what: str) -> tuple[str, int | None]:
    if text.startswith("["):  # IPv6 reference
        end = text.find("]") + 1
        host, rest = text[:end], text[end:]
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
    if not host or not _HOST.fullmatch(host):
        raise SipFormatError(f"{what} host {host[:60]!r} is not a host name or address")
    if not rest:
        return host, None
    port_text = rest[1:]
    if (
        not rest.startswith(":")
        or not (port_text.isascii() and port_text.isdigit())
        or len(port_text) > 5
    ):
        raise SipFormatError(f"{what} port {rest[:20]!r} is not a port number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise SipFormatError(f"{what} port {port} is outside 1..65535")
    return host, port


def _hostport(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class SipUri:
    """``sip:user@host:port;params?headers`` (headers kept as raw text)."""

    host: str
    user: str | None = None
    port: int | None = None
    params: Params = ()
    scheme: str = "sip"
    headers: str = ""

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name`` ("" for a flag), None when absent."""
        return _param(self.params, name)

    def encode(self) -> str:
        user = f"{self.user}@" if self.user is not None else ""
        tail = f"?{self.headers}" if self.headers else ""
        hostport = _hostport(self.host, self.port)
        return f"{self.scheme}:{user}{hostport}{_encode_params(self.params)}{tail}"

    def __str__(self) -> str:
        return self.encode()


def parse_sip_uri(text: str) -> SipUri:
    """Parse a ``sip:``/``sips:`` URI; raise :class:`SipFormatError` otherwise."""
    text = text.strip()
    scheme, sep, rest = text.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips"):
        raise SipFormatError(f"{text[:60]!r} is not a sip: or sips: URI")
    rest, _, headers = rest.partition("?")
    user: str | None = None
    at = rest.rfind("@")
    if at >= 0:
        user, rest = rest[:at], rest[at + 1 :]
        if not user or any(c in user for c in " <>\"'"):
            raise SipFormatError(f"SIP URI user part {user[:40]!r} is empty or malformed")
    hostport, _, params = rest.partition(";")
    host, port = _parse_hostport(hostport, "SIP URI")
    return SipUri(host, user, port, _parse_params(params, "SIP URI"), scheme.lower(), headers)


@dataclass(frozen=True, slots=True)
class NameAddr:
    """From, To, Contact: ``"display" <uri>;params`` (``tag`` is one of the params)."""

    uri: SipUri
    display: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return _param(self.params, "tag") or None

    def param(self, name: str) -> str | None:
        """Value of header parameter ``name`` ("" for a flag), None when absent."""
        return _param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        """A copy whose ``tag`` parameter is ``tag`` (replaced or appended)."""
        kept = tuple((k, v) for k, v in self.params if k.lower() != "tag")
        return replace(self, params=(*kept, ("tag", tag)))

    def encode(self) -> str:
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri.encode()}>{_encode_params(self.params)}"

    def __str__(self) -> str:
        return self.encode()


def parse_name_addr(text: str) -> NameAddr:
    """Parse a From/To/Contact value (name-addr or bare addr-spec)."""
    text = text.strip()
    display: str | None = None
    if text.startswith('"'):
        i, chars = 1, []
        while i < len(text) and text[i] != '"':
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            chars.append(text[i])
            i += 1
        if i >= len(text):
            raise SipFormatError(f"display name in {text[:60]!r} has no closing quote")
        display = "".join(chars)
        text = text[i + 1 :].lstrip()
        if not text.startswith("<"):
            raise SipFormatError("a quoted display name must be followed by <uri>")
    lt = text.find("<")
    if lt >= 0:
        if lt > 0:
            display = text[:lt].strip() or None
        gt = text.find(">", lt)
        if gt < 0:
            raise SipFormatError(f"{text[:60]!r} has '<' without '>'")
        uri, params = text[lt + 1 : gt], text[gt + 1 :]
        if params.strip() and not params.strip().startswith(";"):
            raise SipFormatError(f"unexpected {params.strip()[:30]!r} after <uri>")
    else:  # addr-spec: parameters after the URI belong to the header (RFC 3261 §20.10)
        uri, _, params = text.partition(";")
    return NameAddr(parse_sip_uri(uri), display, _parse_params(params, "header"))


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/<transport> host[:port];params``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @classmethod
    def create(
        cls,
        transport: str,
        host: str,
        port: int | None,
        *,
        branch: str | None = None,
        rport: bool = True,
    ) -> Via:
        """A Via for a request sent from ``host:port``: ``;rport`` and a new branch."""
        params: list[tuple[str, str | None]] = [("rport", None)] if rport else []
        params.append(("branch", branch or new_branch()))
        return cls(transport.upper(), host, port, tuple(params))

    @property
    def branch(self) -> str | None:
        return _param(self.params, "branch") or None

    @property
    def received(self) -> str | None:
        return _param(self.params, "received") or None

    @property
    def rport(self) -> int | None:
        """The ``rport`` value a server filled in (RFC 3581); None for the bare flag."""
        value = _param(self.params, "rport")
        return int(value) if value and (value.isascii() and value.isdigit()) else None

    def param(self, name: str) -> str | None:
        """Value of parameter ``name`` ("" for a flag), None when absent."""
        return _param(self.params, name)

    def with_received(self, host: str, port: int) -> Via:
        """What a server writes back (RFC 3261 §18.2.1, RFC 3581 §4): ``received`` always,
        and the ``rport`` value when the client asked for it with the flag."""
        asked = _param(self.params, "rport") is not None
        kept = [(k, v) for k, v in self.params if k.lower() not in ("received", "rport")]
        kept.append(("received", host))
        if asked:
            kept.append(("rport", str(port)))
        return replace(self, params=tuple(kept))

    def encode(self) -> str:
        return f"SIP/2.0/{self.transport} {_hostport(self.host, self.port)}{_encode_params(self.params)}"

    def __str__(self) -> str:
        return self.encode()


def parse_via(text: str) -> Via:
    """Parse one Via value (split a comma list first: :meth:`SipRequest.header_all`)."""
    match = re.match(r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+([^;\s]+)\s*(.*)$", text, re.S)
    if match is None:
        raise SipFormatError(f"Via {text.strip()[:60]!r} is not 'SIP/2.0/<transport> host'")
    transport = match.group(1).upper()
    if transport not in _TRANSPORTS:
        raise SipFormatError(f"Via transport {transport!r} is unknown")
    host, port = _parse_hostport(match.group(2), "Via")
    params = match.group(3).strip()
    if params and not params.startswith(";"):
        raise SipFormatError(f"unexpected {params[:30]!r} after the Via host")
    return Via(transport, host, port, _parse_params(params, "Via"))


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: <number> <METHOD>``."""

    number: int
    method: str

    def encode(self) -> str:
        return f"{self.number} {self.method}"

    def __str__(self) -> str:
        return self.encode()


def parse_cseq(text: str) -> CSeq:
    parts = text.split()
    if (
        len(parts) != 2
        or not (parts[0].isascii() and parts[0].isdigit())
        or not _TOKEN.fullmatch(parts[1])
    ):
        raise SipFormatError(f"CSeq {text.strip()[:40]!r} is not '<number> <method>'")
    number = int(parts[0])
    if number >= 2**31:
        raise SipFormatError(f"CSeq number {parts[0][:20]} is not below 2**31")
    return CSeq(number, parts[1])
