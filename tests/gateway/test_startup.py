"""`serve` says it is up on a plain line, once the port answers (besides the JSON log)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .test_compose import _free_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_prints_its_address_when_the_port_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_HTTP_PORT": str(port),
        "GATEWAY_DATABASE_URL": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--migrate"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("综治视频网关已启动"):
                break
        assert lines and lines[-1] == f"综治视频网关已启动: http://127.0.0.1:{port}", lines
        # Printed after the bind: the address answers at once.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
