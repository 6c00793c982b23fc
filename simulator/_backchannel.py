"""The camera speaker: what arrives on the ONVIF backchannel, decoded and kept for checks.

Pure code (the RTSP session calls :meth:`BackchannelSink.receive` with each RTP packet and
its arrival time).  Tests ask for the PCM, its dominant frequency, level and duration, and
how the packets were paced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ._g711 import alaw_decode, ulaw_decode
from ._rtp import RtpPacket

__all__ = ["BackchannelSink", "dominant_frequency", "rms_dbfs"]

SAMPLE_RATE = 8000
_DECODERS = {0: ulaw_decode, 8: alaw_decode}
_MAX_SECONDS = 600  # keep at most ten minutes of talk: bounded memory


def dominant_frequency(pcm: npt.NDArray[np.int16], sample_rate: int = SAMPLE_RATE) -> float | None:
    """Frequency (Hz) of the strongest spectral peak, or None for silence/too little audio."""
    if len(pcm) < sample_rate // 10:
        return None
    samples = pcm.astype(np.float64)
    samples -= samples.mean()
    if np.sqrt(np.mean(samples**2)) < 30:  # about -60 dBFS: call it silence
        return None
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = int(np.argmax(spectrum[1:]) + 1)
    # Parabolic interpolation between bins gives sub-bin accuracy.
    if 1 <= peak < len(spectrum) - 1:
        left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = left - 2 * centre + right
        offset = 0.5 * (left - right) / denominator if denominator else 0.0
    else:
        offset = 0.0
    return float((peak + offset) * sample_rate / len(samples))


def rms_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """RMS level relative to full scale; -inf for digital silence or nothing."""
    if len(pcm) == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    return 20 * np.log10(rms / 32768) if rms > 0 else float("-inf")


@dataclass(slots=True)
class BackchannelSink:
    """Received talk audio of one camera (across its sessions, until cleared)."""

    packets: int = 0
    lost: int = 0  # sequence gaps
    rejected: int = 0  # malformed or with a payload type the SDP did not offer
    before_play: int = 0  # sent on the backchannel channel before PLAY was answered
    payload_types: set[int] = field(default_factory=set)
    ssrcs: set[int] = field(default_factory=set)
    _chunks: list[npt.NDArray[np.int16]] = field(default_factory=list)
    _samples: int = 0
    _arrivals: list[float] = field(default_factory=list)
    _timestamps: list[int] = field(default_factory=list)
    _last_sequence: int | None = None

    def receive(self, packet: RtpPacket, arrival: float) -> None:
        decode = _DECODERS.get(packet.payload_type)
        if decode is None:
            self.rejected += 1
            return
        if self._last_sequence is not None and packet.ssrc in self.ssrcs:
            gap = (packet.sequence - self._last_sequence - 1) & 0xFFFF
            if 0 < gap < 1000:
                self.lost += gap
        self._last_sequence = packet.sequence
        self.packets += 1
        self.payload_types.add(packet.payload_type)
        self.ssrcs.add(packet.ssrc)
        if self._samples < _MAX_SECONDS * SAMPLE_RATE:
            pcm = decode(packet.payload)
            self._chunks.append(pcm)
            self._samples += len(pcm)
            self._arrivals.append(arrival)
            self._timestamps.append(packet.timestamp)

    def clear(self) -> None:
        self.packets = self.lost = self.rejected = self.before_play = 0
        self.payload_types.clear()
        self.ssrcs.clear()
        self._chunks.clear()
        self._arrivals.clear()
        self._timestamps.clear()
        self._samples = 0
        self._last_sequence = None

    def pcm(self) -> npt.NDArray[np.int16]:
        """Everything received, decoded to 16-bit PCM at 8 kHz, in arrival order."""
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)

    @property
    def duration(self) -> float:
        return self._samples / SAMPLE_RATE

    def dominant_frequency(self) -> float | None:
        return dominant_frequency(self.pcm())

    def rms_dbfs(self) -> float:
        return rms_dbfs(self.pcm())

    def packet_intervals(self) -> npt.NDArray[np.float64]:
        """Seconds between consecutive packet arrivals."""
        return np.diff(np.asarray(self._arrivals, dtype=np.float64))

    def timestamp_steps(self) -> npt.NDArray[np.int64]:
        """RTP timestamp increments between consecutive packets (160 for 20 ms G.711)."""
        steps = np.diff(np.asarray(self._timestamps, dtype=np.int64))
        return np.mod(steps, np.int64(1 << 32))

    def summary(self) -> dict[str, object]:
        intervals = self.packet_intervals()
        steps = self.timestamp_steps()
        frequency = self.dominant_frequency()
        level = self.rms_dbfs()
        return {
            "packets": self.packets,
            "lost": self.lost,
            "rejected": self.rejected,
            "before_play": self.before_play,
            "payload_types": sorted(self.payload_types),
            "duration": round(self.duration, 3),
            "dominant_frequency": None if frequency is None else round(frequency, 1),
            "rms_dbfs": None if level == float("-inf") else round(level, 1),
            "mean_interval_ms": round(float(intervals.mean()) * 1000, 2)
            if len(intervals)
            else None,
            "max_interval_ms": round(float(intervals.max()) * 1000, 2) if len(intervals) else None,
            "timestamp_step": int(np.median(steps)) if len(steps) else None,
        }
