"""The camera microphone: a one-second G.711 program (a low hum and a beep on the second).

Pure code.  The beep starts each second — on the wall clock in live mode — so a test can
line the audio up with the clock drawn on the picture.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._g711 import ulaw_encode

__all__ = ["SAMPLES_PER_PACKET", "SAMPLE_RATE", "microphone_program", "program_slice"]

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
