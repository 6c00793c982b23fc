"""Camera audio: G.711 (RFC 3551) and AAC (RFC 3640 ``AAC-hbr``).  Pure core.

- G.711 RTP payloads are the samples themselves, one byte per sample at 8 kHz.
- AAC payloads start with an AU-headers section (``sizeLength``/``indexLength``/
  ``indexDeltaLength`` bits per header, from the fmtp); an AU larger than one packet is
  fragmented over packets that share a timestamp, the last one with the marker bit.
- G.711 µ-law/A-law encode and decode with numpy lookup tables, for the backchannel
  (browser PCM → camera speaker) and for checks on what a camera sends.  Encoding maps
  every 16-bit sample to the code whose decoded value is nearest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from camera_registry._errors import MalformedMediaError

__all__ = [
    "AacDepacketizer",
    "alaw_decode",
    "alaw_encode",
    "g711_decode",
    "g711_encode",
    "ulaw_decode",
    "ulaw_encode",
]

Pcm = npt.NDArray[np.int16]


def _ulaw_to_linear() -> Pcm:
    u = (~np.arange(256, dtype=np.int32)) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_to_linear() -> Pcm:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _nearest_code_table(decode: Pcm) -> npt.NDArray[np.uint8]:
    """For every int16 value, the G.711 code whose decoded value is nearest."""
    order = np.argsort(decode, kind="stable")
    values = decode[order].astype(np.int32)
    # among codes that decode to the same value (±0) keep the positive-zero one
    midpoints = (values[:-1] + values[1:]) / 2.0
    samples = np.arange(-32768, 32768, dtype=np.int32)
    index = np.searchsorted(midpoints, samples, side="left")
    table = order[index].astype(np.uint8)
    table.setflags(write=False)
    return table


# Constant lookup tables (read-only): built once at import, no mutable state.
_ULAW_DEC = _ulaw_to_linear()
_ALAW_DEC = _alaw_to_linear()
_ULAW_DEC.setflags(write=False)
_ALAW_DEC.setflags(write=False)
_ULAW_ENC = _nearest_code_table(_ULAW_DEC)
_ALAW_ENC = _nearest_code_table(_ALAW_DEC)


def _as_pcm(samples: npt.ArrayLike) -> Pcm:
    pcm = np.asarray(samples)
    if pcm.dtype != np.int16:
        raise ValueError(f"G.711 encoding needs int16 samples, got {pcm.dtype}")
    return pcm.reshape(-1)


def ulaw_encode(samples: npt.ArrayLike) -> bytes:
    """int16 mono PCM at 8 kHz → µ-law bytes (PCMU)."""
    return _ULAW_ENC[_as_pcm(samples).astype(np.int32) + 32768].tobytes()


def alaw_encode(samples: npt.ArrayLike) -> bytes:
    """int16 mono PCM at 8 kHz → A-law bytes (PCMA)."""
    return _ALAW_ENC[_as_pcm(samples).astype(np.int32) + 32768].tobytes()


def ulaw_decode(data: bytes | memoryview) -> Pcm:
    """µ-law bytes → int16 PCM."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes | memoryview) -> Pcm:
    """A-law bytes → int16 PCM."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def g711_encode(samples: npt.ArrayLike, codec: str) -> bytes:
    """Encode for ``codec`` ``"PCMU"`` or ``"PCMA"``."""
    if codec.upper() == "PCMU":
        return ulaw_encode(samples)
    if codec.upper() == "PCMA":
        return alaw_encode(samples)
    raise ValueError(f"G.711 codec must be PCMU or PCMA, not {codec!r}")


def g711_decode(data: bytes | memoryview, codec: str) -> Pcm:
    """Decode ``codec`` ``"PCMU"`` or ``"PCMA"`` bytes."""
    if codec.upper() == "PCMU":
        return ulaw_decode(data)
    if codec.upper() == "PCMA":
        return alaw_decode(data)
    raise ValueError(f"G.711 codec must be PCMU or PCMA, not {codec!r}")


# on_frame(au, rtp_timestamp)
AacSink = Callable[[bytes, int], None]


class AacDepacketizer:
    """RFC 3640 depacketizer for ``mpeg4-generic`` AAC (AAC-hbr / AAC-lbr).

    ``fmtp`` is the track's fmtp (``sizelength``, ``indexlength``,
    ``indexdeltalength``, ``constantduration``); AUs go to ``on_frame`` with their own
    timestamp (the packet's plus the frame duration per AU, 1024 samples by default).
    Malformed payloads raise :class:`MalformedMediaError`; a lost fragment drops its AU.
    """

    __slots__ = (
        "_duration",
        "_frag",
        "_frag_size",
        "_frag_ts",
        "_index_delta_length",
        "_index_length",
        "_next_seq",
        "_sink",
        "_size_length",
        "dropped",
    )

    def __init__(self, on_frame: AacSink, fmtp: Mapping[str, str]) -> None:
        def number(key: str, default: int) -> int:
            value = fmtp.get(key, "").strip()
            return int(value) if value.isdigit() else default

        self._sink = on_frame
        self._size_length = number("sizelength", 13)
        self._index_length = number("indexlength", 3)
        self._index_delta_length = number("indexdeltalength", 3)
        self._duration = number("constantduration", 1024)
        if not 1 <= self._size_length <= 16:
            raise MalformedMediaError(f"AAC sizeLength {self._size_length} is outside 1..16")
        self._frag: list[memoryview] = []
        self._frag_size = 0
        self._frag_ts = -1
        self._next_seq: int | None = None
        self.dropped = 0

    def push(self, payload: memoryview, timestamp: int, marker: bool, sequence: int) -> None:
        if self._next_seq is not None and sequence != self._next_seq and self._frag:
            self._frag = []
            self.dropped += 1
        self._next_seq = (sequence + 1) & 0xFFFF
        if len(payload) < 2:
            raise MalformedMediaError("AAC RTP payload has no AU-headers-length")
        header_bits = (payload[0] << 8) | payload[1]
        header_bytes = (header_bits + 7) // 8
        if 2 + header_bytes > len(payload):
            raise MalformedMediaError(
                f"AAC AU-headers of {header_bits} bits do not fit a {len(payload)}-byte payload"
            )
        sizes = self._au_sizes(payload[2 : 2 + header_bytes], header_bits)
        data = payload[2 + header_bytes :]
        if self._frag and timestamp != self._frag_ts:
            self._frag = []  # the rest of a fragmented AU never came
            self.dropped += 1
        if len(sizes) == 1 and (sizes[0] > len(data) or self._frag):
            # fragment of one large AU: collect until the marker bit
            if not self._frag:
                if timestamp == self._frag_ts:
                    return  # the tail of an AU whose earlier fragment was lost
                self._frag_size = sizes[0]
                self._frag_ts = timestamp
            self._frag.append(data)
            if marker:
                au = b"".join(self._frag)
                self._frag = []
                self._frag_ts = -1
                if len(au) == self._frag_size:
                    self._sink(au, timestamp)
                else:
                    self.dropped += 1
            return
        pos = 0
        for i, size in enumerate(sizes):
            if pos + size > len(data):
                raise MalformedMediaError(
                    f"AAC AU of {size} bytes runs past the end of the RTP payload"
                )
            self._sink(bytes(data[pos : pos + size]), timestamp + i * self._duration)
            pos += size

    def _au_sizes(self, headers: memoryview, header_bits: int) -> list[int]:
        value = int.from_bytes(headers, "big")
        total = len(headers) * 8
        sizes: list[int] = []
        bit = 0
        index_bits = self._index_length
        while bit + self._size_length + index_bits <= header_bits:
            shift = total - (bit + self._size_length)
            sizes.append((value >> shift) & ((1 << self._size_length) - 1))
            bit += self._size_length + index_bits
            index_bits = self._index_delta_length
        if not sizes:
            raise MalformedMediaError(f"AAC AU-headers of {header_bits} bits hold no AU header")
        return sizes
