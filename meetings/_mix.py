"""The meeting's audio: who speaks, and what each participant hears.  Pure core (numpy).

Every 20 ms the room takes one chunk (960 samples, 48 kHz mono, int16) from each site.
A site is *speaking* when it is not muted and its chunk is louder than the gate; the
``max_speakers`` loudest speakers are mixed.  Silent sites are not mixed at all (their
room noise stays out of the meeting), so they all hear the same thing — the sum of the
speakers — and that mix is encoded once and shared.  Each speaker hears the sum minus
its own voice, encoded for it alone: a meeting with two speakers needs three Opus
encodes whatever the number of sites, and nobody ever hears themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CHUNK", "RATE", "MixPlan", "Mixer", "level_dbfs"]

RATE = 48_000
CHUNK = 960  # 20 ms
Samples = np.ndarray[Any, np.dtype[np.int16]]


def level_dbfs(chunk: Samples) -> float:
    """RMS level of a chunk in dBFS (−120 for digital silence)."""
    if chunk.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(chunk.astype(np.float64)))))
    return -120.0 if rms < 1e-6 else 20.0 * float(np.log10(rms / 32768.0))


@dataclass(frozen=True, slots=True)
class MixPlan:
    """One 20 ms tick: the shared mix, each speaker's own mix, the levels heard."""

    shared: Samples
    own: dict[str, Samples]  # speaker → the mix without their voice
    speakers: tuple[str, ...]  # loudest first
    levels: dict[str, float] = field(default_factory=dict)

    def for_participant(self, participant: str) -> Samples:
        return self.own.get(participant, self.shared)


@dataclass
class Mixer:
    gate_dbfs: float = -45.0  # quieter than this is silence (room noise)
    max_speakers: int = 4

    def mix(
        self, chunks: Mapping[str, Samples | None], muted: frozenset[str] | set[str]
    ) -> MixPlan:
        levels: dict[str, float] = {}
        loud: list[tuple[float, str]] = []
        for pid, chunk in chunks.items():
            if chunk is None:
                continue
            level = level_dbfs(chunk)
            levels[pid] = level
            if pid not in muted and level > self.gate_dbfs:
                loud.append((level, pid))
        loud.sort(reverse=True)
        speakers = tuple(pid for _, pid in loud[: self.max_speakers])
        total = np.zeros(CHUNK, dtype=np.int32)
        for pid in speakers:
            chunk = chunks[pid]
            assert chunk is not None
            total[: chunk.size] += chunk[:CHUNK]
        shared = _clip(total)
        own: dict[str, Samples] = {}
        for pid in speakers:
            chunk = chunks[pid]
            assert chunk is not None
            without = total.copy()
            without[: chunk.size] -= chunk[:CHUNK]
            own[pid] = _clip(without)
        return MixPlan(shared, own, speakers, levels)


def _clip(total: np.ndarray[Any, np.dtype[np.int32]]) -> Samples:
    clipped: Samples = np.clip(total, -32768, 32767).astype(np.int16)
    return clipped
