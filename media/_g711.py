"""G.711 (ITU-T G.711, RTP payload RFC 3551 PCMU/PCMA).  Pure core.

- RTP payloads are the samples themselves, one byte per sample at 8 kHz.
- G.711 µ-law/A-law encode and decode with numpy lookup tables, for the backchannel
  (browser PCM → camera speaker) and for checks on what a camera sends.  Encoding maps
  every 16-bit sample to the code whose decoded value is nearest.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from media._rtp import build_rtp

__all__ = [
    "G711Packetizer",
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


class G711Packetizer:
    """G.711 bytes → RTP packets of ``samples`` samples (20 ms by default).

    For a camera speaker (the ONVIF backchannel) and GB/T 28181 broadcast: sequence
    numbers and timestamps are monotonic; a pause longer than ``talkspurt_gap`` seconds
    advances the timestamp by the pause and sets the marker bit on the first packet
    after it (a new talkspurt, RFC 3551 §4.1).  ``now`` is any steady clock in seconds.
    """

    __slots__ = (
        "_clock",
        "clock_rate",
        "payload_type",
        "samples",
        "sequence",
        "ssrc",
        "talkspurt_gap",
        "timestamp",
    )

    def __init__(
        self,
        payload_type: int,
        *,
        clock_rate: int = 8000,
        samples: int = 160,
        talkspurt_gap: float = 0.1,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        if samples <= 0:
            raise ValueError(f"an RTP packet needs at least one sample, not {samples}")
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.samples = samples
        self.talkspurt_gap = talkspurt_gap
        self.ssrc = _random(4) if ssrc is None else ssrc
        self.sequence = _random(2) if sequence is None else sequence
        self.timestamp = _random(4) if timestamp is None else timestamp
        self._clock: float | None = None

    def _advance(self, count: int, now: float) -> tuple[int, bool]:
        marker = False
        clock = self._clock
        if clock is None or now > clock + self.talkspurt_gap:
            if clock is not None:
                self.timestamp += int((now - clock) * self.clock_rate)
            clock = now
            marker = True
        self._clock = clock + count / self.clock_rate
        return self.timestamp & 0xFFFFFFFF, marker

    def packetize(self, g711: bytes | memoryview, now: float) -> tuple[int, list[bytes]]:
        """The RTP packets for ``g711``, and the RTP timestamp of its first sample."""
        first, marker = self._advance(len(g711), now)
        packets = []
        for start in range(0, len(g711), self.samples):
            chunk = g711[start : start + self.samples]
            packets.append(
                build_rtp(
                    self.payload_type,
                    self.sequence,
                    self.timestamp,
                    self.ssrc,
                    chunk,
                    marker=marker,
                )
            )
            marker = False
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.timestamp = (self.timestamp + len(chunk)) & 0xFFFFFFFF
        return first, packets

    def skip(self, count: int, now: float) -> int:
        """``count`` samples that will not be sent (the peer does not read): the timeline
        moves on as if they had been, so the next packets keep their place."""
        first, _ = self._advance(count, now)
        self.timestamp = (self.timestamp + count) & 0xFFFFFFFF
        return first


def _random(size: int) -> int:
    return int.from_bytes(os.urandom(size), "big")
