"""Just enough SIP for the simulated upper platform, written apart from the gateway's
own toolkit (the simulator imports nothing of the product): messages, TCP framing by
Content-Length, and RFC 2617 MD5 digest from the server's side."""

from __future__ import annotations

import hashlib
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

__all__ = ["Msg", "StreamFramer", "check_digest", "parse_msg"]


@dataclass
class Msg:
    """A SIP request (``method``, ``uri``) or response (``status``, ``reason``)."""

    first: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    wire_size: int = 0  # bytes on the wire (a datagram's size), for the 1300-byte check

    def xml(self) -> ET.Element:
        """The MANSCDP body, decoded with the charset its prolog declares."""
        match = re.match(rb"""\s*<\?xml[^>]*encoding=["']([A-Za-z0-9_-]+)["']""", self.body)
        charset = match.group(1).decode() if match else "utf-8"
        text = self.body.decode(charset)
        return ET.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text))

    @property
    def is_request(self) -> bool:
        return not self.first.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        return self.first.split(" ", 1)[0].upper() if self.is_request else self.cseq_method

    @property
    def uri(self) -> str:
        return self.first.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.first.split(" ")[1]) if not self.is_request else 0

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def cseq_method(self) -> str:
        return (self.get("CSeq") or "0 X").split()[1].upper()

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    def user(self, header: str) -> str:
        match = re.search(r"sip:([^@;>]+)@", self.get(header) or "")
        return match.group(1) if match else ""

    def tag(self, header: str) -> str | None:
        match = re.search(r";\s*tag=([^;>\s]+)", self.get(header) or "")
        return match.group(1) if match else None

    def encode(self) -> bytes:
        lines = [self.first]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def reply(self, status: int, reason: str, *extra: tuple[str, str], body: bytes = b"",
              to_tag: str | None = None) -> Msg:  # fmt: skip
        headers: list[tuple[str, str]] = [("Via", v) for v in self.get_all("Via")]
        to = self.get("To") or ""
        if status > 100 and ";tag=" not in to:
            to += f";tag={to_tag or os.urandom(4).hex()}"
        headers += [("From", self.get("From") or ""), ("To", to)]
        headers += [("Call-ID", self.call_id), ("CSeq", self.get("CSeq") or "")]
        return Msg(f"SIP/2.0 {status} {reason}", headers + list(extra), body)


_COMPACT = {"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact",
            "c": "Content-Type", "l": "Content-Length"}  # fmt: skip


def _head(raw: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = raw.decode("utf-8", "replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            name = _COMPACT.get(name.strip().lower(), name.strip())
            headers.append((name, value.strip()))
    return lines[0].strip(), headers


def parse_msg(data: bytes) -> Msg | None:
    """One datagram → a message, None if it is not one."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.strip():
        return None
    first, headers = _head(head.lstrip(b"\r\n"))
    if " " not in first:
        return None
    length = next((v for k, v in headers if k.lower() == "content-length"), None)
    if length is not None and length.isdigit():
        body = body[: int(length)]
    return Msg(first, headers, body, len(data))


class StreamFramer:
    """SIP over TCP: messages framed by Content-Length."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[Msg]:
        self.buffer += data
        out: list[Msg] = []
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return out
            first, headers = _head(self.buffer[:end])
            length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
            if len(self.buffer) < end + 4 + length:
                return out
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            out.append(Msg(first, headers, body, end + 4 + length))


def _params(header: str) -> dict[str, str]:
    text = re.sub(r"^\s*Digest\s+", "", header, flags=re.I)
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', text)
    }


def check_digest(authorization: str, *, method: str, password: str, realm: str,
                 nonce: str, opaque: str | None = None) -> tuple[bool, str]:  # fmt: skip
    """(valid, username) of an Authorization header, checked the RFC 2617 way."""
    p = _params(authorization)
    if p.get("realm") != realm or p.get("nonce") != nonce:
        return False, p.get("username", "")
    if opaque is not None and p.get("opaque") != opaque:
        return False, p.get("username", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{p.get('username', '')}:{realm}:{password}")
    ha2 = md5(f"{method}:{p.get('uri', '')}")
    if p.get("qop") == "auth":
        want = md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
    else:
        want = md5(f"{ha1}:{nonce}:{ha2}")
    return want == p.get("response", "").lower(), p.get("username", "")
