"""The camera microphone: a one-second G.711 program (a low hum and a beep on the second).

Pure code.  The beep starts each second — on the wall clock in live mode — so a test can
line the audio up with the clock drawn on the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame

from ._g711 import ulaw_encode

__all__ = [
    "AAC_HUM_HZ",
    "SAMPLES_PER_PACKET",
    "SAMPLE_RATE",
    "AacProgram",
    "aac_program",
    "microphone_program",
    "program_slice",
]

SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms
_BEEP_HZ = 880.0
_HUM_HZ = 200.0


def microphone_pcm() -> npt.NDArray[np.int16]:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    hum = 0.02 * np.sin(2 * np.pi * _HUM_HZ * t)
    beep = np.where(t < 0.1, 0.25 * np.sin(2 * np.pi * _BEEP_HZ * t), 0.0)
    return np.round((hum + beep) * 32767).astype(np.int16)


def microphone_program() -> bytes:
    """One second of μ-law audio, to be played in a loop."""
    return ulaw_encode(microphone_pcm())


def program_slice(program: bytes, offset: int) -> bytes:
    """160 bytes (one 20 ms packet) of the looping program starting at sample ``offset``."""
    offset %= len(program)
    end = offset + SAMPLES_PER_PACKET
    if end <= len(program):
        return program[offset:end]
    return program[offset:] + program[: end - len(program)]


AAC_RATE = 16_000
AAC_FRAME = 1024  # samples per AAC-LC access unit (64 ms at 16 kHz)
AAC_HUM_HZ = 250.0  # a whole number of cycles in the 1.024 s loop: no click at the seam


@dataclass(frozen=True, slots=True)
class AacProgram:
    """A looping AAC-LC microphone program: 16 access units (1.024 s at 16 kHz, mono)."""

    config: str  # AudioSpecificConfig, hex, for the SDP's fmtp
    units: tuple[bytes, ...]
    clock_rate: int = AAC_RATE
    samples_per_unit: int = AAC_FRAME

    def payload(self, index: int) -> bytes:
        """RFC 3640 AAC-hbr RTP payload of unit ``index`` (one AU-header: 13-bit size)."""
        unit = self.units[index % len(self.units)]
        return (16).to_bytes(2, "big") + (len(unit) << 3).to_bytes(2, "big") + unit


def aac_program() -> AacProgram:
    """A steady 250 Hz hum, AAC-encoded once (the encoder's priming units skipped)."""
    encoder = av.CodecContext.create("aac", "w")
    assert isinstance(encoder, av.audio.codeccontext.AudioCodecContext)
    encoder.sample_rate = AAC_RATE
    encoder.layout = "mono"
    encoder.format = "fltp"
    encoder.bit_rate = 32_000
    encoder.open()
    loops = 3
    t = np.arange(AAC_FRAME * 16 * loops) / AAC_RATE
    pcm = (0.2 * np.sin(2 * np.pi * AAC_HUM_HZ * t)).astype(np.float32)
    units: list[bytes] = []
    for start in range(0, pcm.size, AAC_FRAME):
        frame = AudioFrame.from_ndarray(
            pcm[start : start + AAC_FRAME].reshape(1, -1), format="fltp", layout="mono"
        )
        frame.sample_rate = AAC_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AAC_RATE)
        units += [bytes(p) for p in encoder.encode(frame)]
    config = bytes(encoder.extradata or b"").hex()
    # the middle loop: past the encoder's start-up, a steady state that repeats cleanly
    return AacProgram(config, tuple(units[16:32]))
