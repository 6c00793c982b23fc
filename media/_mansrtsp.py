"""MANSRTSP: the playback-control bodies GB/T 28181 sends in SIP INFO.  Pure core.

A platform controls a playback (``s=Playback``) session with in-dialog INFO requests,
``Content-Type: Application/MANSRTSP``, whose body is an RTSP-like request (wvp
``SIPCommander.playPause/Resume/Seek/SpeedCmd``)::

    PLAY RTSP/1.0            PAUSE RTSP/1.0          PLAY RTSP/1.0
    CSeq: 3                  CSeq: 4                 CSeq: 5
    Range: npt=100-          PauseTime: now          Scale: 2.000000

``Range: npt=now-`` (or no Range) resumes where the stream is; a number seeks, in
seconds from the start of the recording.  ``Scale`` is the speed (2022 requires 0.25,
0.5, 1, 2, 4; negative means reverse).  Malformed bodies raise :class:`SipFormatError`,
since the body is part of the SIP dialogue.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from media._errors import SipFormatError

__all__ = ["MansRtsp", "parse_mansrtsp"]

MAX_MANSRTSP_BYTES = 4096
_METHODS = ("PLAY", "PAUSE", "TEARDOWN")
_NPT = re.compile(r"npt\s*=\s*(now|[0-9]+(?:\.[0-9]*)?)?\s*-\s*([0-9]+(?:\.[0-9]*)?)?\s*$")


@dataclass(frozen=True, slots=True)
class MansRtsp:
    """One playback-control command."""

    method: str  # "PLAY", "PAUSE" or "TEARDOWN"
    cseq: int | None = None
    range_start: float | None = None  # seconds; None for "now" or no Range
    range_end: float | None = None
    scale: float | None = None

    @property
    def seek(self) -> bool:
        """A PLAY that moves the position (``Range: npt=<seconds>-``)."""
        return self.method == "PLAY" and self.range_start is not None

    def encode(self) -> bytes:
        """The body as a platform sends it (for the simulated platform in tests)."""
        lines = [f"{self.method} RTSP/1.0"]
        if self.cseq is not None:
            lines.append(f"CSeq: {self.cseq}")
        if self.method == "PAUSE":
            lines.append("PauseTime: now")
        elif self.range_start is not None or self.range_end is not None:
            start = "now" if self.range_start is None else _num(self.range_start)
            end = "" if self.range_end is None else _num(self.range_end)
            lines.append(f"Range: npt={start}-{end}")
        if self.scale is not None:
            lines.append(f"Scale: {self.scale:f}")
        return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")  # npt to the millisecond


def _float(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SipFormatError(f"MANSRTSP {what} {value[:20]!r} is not a number") from None
    if not math.isfinite(number):
        raise SipFormatError(f"MANSRTSP {what} {value[:20]!r} is not finite")
    return number


def parse_mansrtsp(body: bytes | str) -> MansRtsp:
    """Parse an INFO body; raise :class:`SipFormatError` if it is not MANSRTSP."""
    if len(body) > MAX_MANSRTSP_BYTES:
        raise SipFormatError(f"MANSRTSP body of {len(body)} bytes is too large")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        raise SipFormatError("MANSRTSP body is empty")
    parts = lines[0].split()
    if len(parts) != 2 or parts[0].upper() not in _METHODS or not parts[1].startswith("RTSP/"):
        raise SipFormatError(f"MANSRTSP request line {lines[0][:60]!r} is malformed")
    method = parts[0].upper()
    cseq: int | None = None
    start: float | None = None
    end: float | None = None
    scale: float | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise SipFormatError(f"MANSRTSP line {line[:60]!r} has no 'Name: value' form")
        name, value = name.strip().lower(), value.strip()
        if name == "cseq":
            if not (value.isascii() and value.isdigit()) or len(value) > 10:
                raise SipFormatError(f"MANSRTSP CSeq {value[:20]!r} is not a number")
            cseq = int(value)
        elif name == "range":
            match = _NPT.match(value)
            if match is None:
                raise SipFormatError(f"MANSRTSP Range {value[:40]!r} is not 'npt=<start>-'")
            if match.group(1) not in (None, "now"):
                start = _float(match.group(1), "Range start")
            if match.group(2) is not None:
                end = _float(match.group(2), "Range end")
        elif name == "scale":
            scale = _float(value, "Scale")
    return MansRtsp(method, cseq, start, end, scale)
