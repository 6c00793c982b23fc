"""docker-compose.yml cannot run here (no Docker engine), so run what it runs: the gateway
service's command with its environment, against this machine's database, and probe the same
health check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    gateway, db = compose["services"]["gateway"], compose["services"]["db"]
    assert gateway["depends_on"]["db"]["condition"] == "service_healthy"
    assert set(compose["volumes"]) == {"pgdata", "gatewaydata"}
    assert "gatewaydata:/data" in gateway["volumes"]
    assert gateway["environment"]["GATEWAY_DATA_DIR"] == "/data"
    assert db["environment"]["POSTGRES_DB"] in gateway["environment"]["GATEWAY_DATABASE_URL"]
    assert "serve" in gateway["command"] and "--migrate" in gateway["command"]


def test_the_gateway_service_command_migrates_and_becomes_healthy(
    tmp_path: Path, database_url: str
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["gateway"]
    command = service["command"]
    assert command[:3] == ["python", "-m", "gateway"]
    port = _free_port()
    env = {
        **os.environ,
        **{k: str(v) for k, v in service["environment"].items()},
        # the container's addresses and paths, mapped onto this machine:
        "GATEWAY_DATABASE_URL": database_url.replace("gateway.db", "compose.db"),
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_HTTP_HOST": "127.0.0.1",
        "GATEWAY_HTTP_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, *command[1:]],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[0]) from None
                time.sleep(0.3)
    finally:
        process.terminate()
        process.communicate(timeout=20)
