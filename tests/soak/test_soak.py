"""The soak's short variant (8 cameras recording for 5 minutes, viewers churning) and its
verdict function on made-up curves."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.soak import Sample, verdict

ROOT = Path(__file__).resolve().parents[2]


def _flat(n: int = 30, **changes: object) -> list[Sample]:
    base = Sample(0, 20.0, 300.0, 40, 10, 80, 0, 0, 8, 8, 2)
    return [replace(base, t=10.0 * i, **changes) for i in range(n)]  # type: ignore[arg-type]


def test_verdict_passes_flat_curves_and_names_each_fault() -> None:
    assert verdict(_flat(), cameras=8).ok
    wobbly = [
        replace(s, fds=40 + (i % 3) * 6, rss_mib=300 + (i % 2) * 5) for i, s in enumerate(_flat())
    ]
    assert verdict(wobbly, cameras=8).ok  # viewers come and go: no trend, no finding

    leaking = [replace(s, rss_mib=300 + 2.0 * i) for i, s in enumerate(_flat())]
    assert verdict(leaking, cameras=8).findings == ["RSS grows 28.0 MiB over the second half"]
    fds = [replace(s, fds=40 + 3 * i) for i, s in enumerate(_flat())]
    assert "open descriptors grow" in verdict(fds, cameras=8).findings[0]
    gaps = _flat()
    gaps[-1] = replace(gaps[-1], recording_gaps=2, camera_outages=1)
    found = verdict(gaps, cameras=8)
    assert not found.ok and "2 recording gap(s), 0 explained" in found.findings[0]
    assert verdict(gaps, cameras=8, explained_gaps=2).ok
    queue = _flat()
    queue[5] = replace(queue[5], queued_frames_max=400)
    assert "reached 400 frames" in verdict(queue, cameras=8).findings[0]
    offline = _flat()
    offline[-1] = replace(offline[-1], cameras_online=7, recordings_active=7)
    assert len(verdict(offline, cameras=8).findings) == 2
    assert not verdict(_flat(3), cameras=8).ok


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_short_soak(tmp_path: Path) -> None:
    """8 cameras recording for 5 minutes with viewers joining and leaving: no gap, RSS and
    descriptors flat over the second half, recording queues bounded."""
    out = tmp_path / "soak"
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--cameras", "8", "--minutes", "5",
         "--viewers", "3", "--churn", "15", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    samples = (out / "samples.jsonl").read_text().splitlines()
    assert len(samples) >= 25, result.stdout + result.stderr
    assert (out / "soak.png").stat().st_size > 10_000
    assert summary["figures"]["viewers_joined"] >= 10
    assert summary["ok"], (summary["findings"], summary["figures"])
    assert result.returncode == 0, result.stderr[-3000:]
