"""G.711 μ-law (PCMU) and A-law (PCMA) codecs on numpy arrays (ITU-T G.711).

Pure functions: the camera's microphone track is encoded with them and the backchannel
sink decodes what the gateway sends.  The decode side is a 256-entry table; the encode
side is the reference segment search, vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in 14-bit units


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((u & 0x0F) << 3) + _ULAW_BIAS
    t = t << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


# Immutable lookup tables (constants, not state): decoding is one fancy-index.
_ULAW_TABLE = _ulaw_decode_table()
_ALAW_TABLE = _alaw_decode_table()


def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """Decode μ-law bytes to 16-bit linear PCM."""
    return _ULAW_TABLE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """Decode A-law bytes to 16-bit linear PCM."""
    return _ALAW_TABLE[np.frombuffer(data, dtype=np.uint8)]


def _segment(magnitude: npt.NDArray[np.int32], first_end: int) -> npt.NDArray[np.int32]:
    """Index of the first segment whose end (first_end, doubling) holds magnitude."""
    ends = first_end * (1 << np.arange(8, dtype=np.int32)) + (
        (1 << np.arange(8, dtype=np.int32)) - 1
    )
    return np.searchsorted(ends, magnitude, side="left").astype(np.int32)


def ulaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """Encode 16-bit linear PCM to μ-law bytes (the reference 14-bit segment search)."""
    x = pcm.astype(np.int32) >> 2  # μ-law works on 14-bit samples
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(magnitude, 0x3F)
    uval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((magnitude >> (seg + 1)) & 0x0F))
    return (uval ^ mask).astype(np.uint8).tobytes()


def alaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """Encode 16-bit linear PCM to A-law bytes."""
    x = pcm.astype(np.int32) >> 3  # A-law works on 13-bit samples
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    seg = _segment(magnitude, 0x1F)
    shift = np.where(seg < 2, 1, seg)
    aval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((magnitude >> shift) & 0x0F))
    return (aval ^ mask).astype(np.uint8).tobytes()
