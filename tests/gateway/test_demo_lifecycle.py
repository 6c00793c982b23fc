"""``serve --demo --demo-cameras N`` takes its simulated cameras down with it, even when the
gateway is killed with SIGKILL: the next ``make demo`` finds the ports free."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_kill_9_of_the_gateway_takes_the_simulator_down(tmp_path: Path) -> None:
    http_port = _free_port()
    # Two cameras: HTTP base, RTSP base+1, HTTP base+2, RTSP base+3.
    base = _free_port()
    while not all(not _listening(p) for p in range(base, base + 4)):
        base = _free_port()
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_HTTP_PORT": str(http_port),
        "GATEWAY_LOG_FORMAT": "text",
    }
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--demo",
            "--demo-cameras",
            "2",
            "--demo-camera-port",
            str(base),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    simulator = 0
    try:
        deadline = time.monotonic() + 120
        while not (_listening(http_port) and _listening(base + 3)):
            assert gateway.poll() is None, "the demo gateway exited"
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.5)
        simulators = _children(gateway.pid)
        assert len(simulators) == 1
        simulator = simulators[0]
        assert "simulator" in Path(f"/proc/{simulator}/cmdline").read_text()

        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(simulator) or any(_listening(p) for p in range(base, base + 4)):
            assert time.monotonic() < deadline, "the simulator outlived the gateway"
            time.sleep(0.2)
        assert not _listening(http_port)
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        if simulator and _alive(simulator):  # never leave an orphan behind a failed test
            os.kill(simulator, signal.SIGKILL)
