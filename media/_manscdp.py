"""MANSCDP (GB/T 28181 Annex A) XML bodies: charsets, safe lenient parsing, encoding.

Pure core.  Bodies travel in SIP MESSAGE/NOTIFY as ``Application/MANSCDP+xml``.

Charsets (gb28181.md §4.7).  Each upper platform is configured with one of ``GB2312``
(2016 platforms, wvp's default), ``GB18030`` (2022) or ``UTF-8``, and reads our bodies
with that setting rather than with our prolog.  Encoding:

- the prolog declares exactly the charset the bytes are in;
- ``GB2312`` lacks rare characters (wvp #1344: "萳").  A body that GB2312 cannot encode
  is encoded as ``GB18030`` and declared so.  GB18030 writes every GB2312 character with
  the same two bytes, so a platform that decodes with a strict GB2312 setting still reads
  everything but the missing characters, and one that honours the prolog (or decodes
  GBK/GB18030, as most do) reads all of it.  Nothing is replaced or dropped;
- ``& < >`` are escaped; characters XML 1.0 forbids (control characters) are removed.

Parsing is lenient where devices are sloppy and strict where bodies are hostile:

- decode with the declared charset, then the configured one, then GB18030, then UTF-8
  (UTF-8 first when nothing is declared: the XML default); GB2312 is read as GB18030,
  its superset.  Bytes no charset accepts are decoded as GB18030 with U+FFFD for the bad
  ones, so one corrupt name does not stop a catalog (wvp #858);
- the prolog is stripped (ElementTree refuses a ``str`` declaring a multi-byte charset),
  stray ``&`` become ``&amp;`` (Hikvision sends them), forbidden characters are removed,
  namespaces are ignored;
- any ``<!DOCTYPE``/``<!ENTITY`` is refused, so no entity can expand (billion laughs)
  or reach outside (XXE) — defusedxml's rule without the dependency; bodies over
  :data:`MAX_MANSCDP_BYTES` and nesting deeper than :data:`MAX_DEPTH` are refused.

Every failure raises :class:`ManscdpError` only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from media._errors import ManscdpError

__all__ = [
    "CHARSETS",
    "MAX_DEPTH",
    "MAX_MANSCDP_BYTES",
    "Manscdp",
    "encode_manscdp",
    "normalise_charset",
    "parse_manscdp",
]

#: The charsets a platform can be configured with, as written in the prolog.
CHARSETS = ("GB2312", "GB18030", "UTF-8")
MAX_MANSCDP_BYTES = 256 * 1024
MAX_DEPTH = 32
_CODECS = {"GB2312": "gb2312", "GB18030": "gb18030", "UTF-8": "utf-8"}
# Declared names we act on; any other declaration is ignored (a body may not choose an
# arbitrary Python codec: "punycode" or "utf-16" would only produce errors or garbage).
_ALIASES = {
    "gb2312": "GB2312",
    "gb_2312-80": "GB2312",
    "euc-cn": "GB2312",
    "gbk": "GB18030",
    "cp936": "GB18030",
    "gb18030": "GB18030",
    "utf-8": "UTF-8",
    "utf8": "UTF-8",
    "us-ascii": "UTF-8",
    "ascii": "UTF-8",
}
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]{1,40})["']""")
_PROLOG = re.compile(r"^\s*<\?xml.*?\?>", re.S)
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_STRAY_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def normalise_charset(name: str) -> str:
    """``"gb2312"`` → ``"GB2312"``, ``"utf8"`` → ``"UTF-8"``, GBK → GB18030; else ValueError."""
    canonical = _ALIASES.get(name.strip().lower())
    if canonical is None:
        raise ValueError(f"MANSCDP charset {name!r} is not one of {', '.join(CHARSETS)}")
    return canonical


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _FORBIDDEN.sub("", text)


def encode_manscdp(root: ET.Element, charset: str) -> bytes:
    """Serialise ``root`` with a prolog naming the charset of the bytes (see above).

    Elements go one per line, unindented: readable in a capture, few bytes on UDP
    (``root`` is re-indented in place).
    """
    charset = normalise_charset(charset)
    ET.indent(root, space="")
    xml = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    if charset == "GB2312":
        try:
            return _prolog("GB2312") + xml.encode("gb2312")
        except UnicodeEncodeError:
            charset = "GB18030"
    return _prolog(charset) + xml.encode(_CODECS[charset])


def _prolog(charset: str) -> bytes:
    return f'<?xml version="1.0" encoding="{charset}"?>\r\n'.encode("ascii")


@dataclass(frozen=True, slots=True)
class Manscdp:
    """A parsed body: the routing fields, and the element tree for everything else."""

    root: str  # "Query", "Response", "Notify", "Control" (others: the router answers 415)
    cmd_type: str
    sn: int
    device_id: str | None
    element: ET.Element = field(compare=False, repr=False)
    charset: str = "UTF-8"  # what the bytes were decoded with

    def text(self, path: str) -> str | None:
        """Stripped text at ``path`` (ElementTree path from the root), None if absent."""
        found = self.element.find(path)
        if found is None:
            return None
        return (found.text or "").strip()

    @property
    def fields(self) -> dict[str, str]:
        """Text of the root's childless children (first of each name): Result, Status …"""
        out: dict[str, str] = {}
        for child in self.element:
            if len(child) == 0:
                out.setdefault(child.tag, (child.text or "").strip())
        return out

    def items(self, list_tag: str = "DeviceList") -> list[dict[str, str]]:
        """Each ``Item`` under ``list_tag`` as {tag: text} of all its leaves (Info's too)."""
        container = self.element.find(list_tag)
        if container is None:
            return []
        out = []
        for item in container:
            leaves: dict[str, str] = {}
            for node in item.iter():
                if node is not item and len(node) == 0:
                    leaves.setdefault(node.tag, (node.text or "").strip())
            out.append(leaves)
        return out


class _Builder:
    """TreeBuilder target that drops namespaces and refuses deep nesting."""

    def __init__(self) -> None:
        self._tree = ET.TreeBuilder()
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ManscdpError(f"MANSCDP body nests deeper than {MAX_DEPTH} elements")
        return self._tree.start(tag.rpartition("}")[2], attrs)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return self._tree.end(tag.rpartition("}")[2])

    def data(self, data: str) -> None:
        self._tree.data(data)

    def close(self) -> ET.Element:
        return self._tree.close()


def _decode(body: bytes, charset: str | None) -> tuple[str, str]:
    match = _DECLARED.match(body[:200])
    declared = _ALIASES.get(match.group(1).decode("ascii").lower()) if match else None
    candidates: list[str] = [declared] if declared else []
    if charset is not None:
        candidates.append(normalise_charset(charset))
    candidates += ["GB18030", "UTF-8"] if match is not None else ["UTF-8", "GB18030"]
    for name in dict.fromkeys(candidates):
        try:  # GB2312 is read as GB18030, its superset: devices send GBK characters
            return body.decode("gb18030" if name == "GB2312" else _CODECS[name]), name
        except UnicodeDecodeError:
            continue
    return body.decode("gb18030", "replace"), "GB18030"


def parse_manscdp(body: bytes | str, charset: str | None = None) -> Manscdp:
    """Parse a MANSCDP body; ``charset`` is the platform's configured one, if any."""
    if len(body) > MAX_MANSCDP_BYTES:
        raise ManscdpError(
            f"MANSCDP body of {len(body)} bytes exceeds the {MAX_MANSCDP_BYTES}-byte limit"
        )
    if isinstance(body, bytes):
        text, used = _decode(body, charset)
    else:
        text, used = body, "UTF-8"
    text = _PROLOG.sub("", text.lstrip("\ufeff \t\r\n"), count=1)
    if _DTD.search(text):
        raise ManscdpError("MANSCDP body declares a DTD or entity: refused")
    text = _STRAY_AMP.sub("&amp;", _FORBIDDEN.sub("", text)).strip()
    builder = _Builder()
    parser = ET.XMLParser(target=builder)
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as exc:
        raise ManscdpError(f"MANSCDP body is not well-formed XML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # ManscdpError is a ValueError too
        if isinstance(exc, ManscdpError):
            raise
        raise ManscdpError(f"MANSCDP body cannot be parsed: {exc}") from None
    cmd_type = (root.findtext("CmdType") or "").strip()
    if not cmd_type:
        raise ManscdpError(f"MANSCDP <{root.tag[:40]}> has no CmdType")
    sn_text = (root.findtext("SN") or "").strip()
    if not (sn_text.isascii() and sn_text.isdigit()) or len(sn_text) > 20:
        raise ManscdpError(f"MANSCDP SN {sn_text[:30]!r} is not a number")
    device_id = root.findtext("DeviceID")
    return Manscdp(
        root.tag,
        cmd_type,
        int(sn_text),
        device_id.strip() if device_id is not None else None,
        root,
        used,
    )
