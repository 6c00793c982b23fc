"""Files at rest: the data directory is 0700 and what the gateway creates in it 0600,
whatever umask it was started with; what an older version left open is reported."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway._files import check_data_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data), "GATEWAY_DATABASE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # a service manager's usual umask
        check=False,
    )


def _modes(data: Path) -> dict[str, str]:
    out = {}
    for path in [data, *data.rglob("*")]:
        out[str(path.relative_to(data))] = stat.filemode(path.stat().st_mode)
    return out


def test_created_files_are_the_gateways_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for command in ("migrate", "demo-seed"):
        done = _run(data, command)
        assert done.returncode == 0, done.stderr[-2000:]
    modes = _modes(data)
    assert "gateway.db" in modes and "secret.key" in modes, modes
    for name, mode in modes.items():
        expected = "drwx------" if mode.startswith("d") else "-rw-------"
        assert mode == expected, (name, mode)
    assert check_data_dir(data).too_open == 0


def test_an_open_data_directory_is_narrowed_and_open_files_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = data / "2025" / "old-recording.mp4"
    old.parent.mkdir()
    old.write_bytes(b"\x00" * 16)
    old.chmod(0o644)
    done = _run(data, "migrate")
    assert done.returncode == 0, done.stderr[-2000:]
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    warnings = [
        json.loads(line)
        for line in done.stderr.splitlines()
        if line.startswith("{") and "readable by others" in line
    ]
    assert warnings and warnings[0]["too_open"] == 2  # the old folder and its file
    assert "old-recording.mp4" in " ".join(warnings[0]["examples"])
