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
    services = compose["services"]
    db = services["db"]
    boxes = [services["gateway"], services["gateway-2"]]
    assert set(compose["volumes"]) == {"pgdata", "gatewaydata"}
    for box in boxes:
        assert "gatewaydata:/data" in box["volumes"]  # the same keys and recordings
        assert box["environment"]["GATEWAY_DATA_DIR"] == "/data"
        assert db["environment"]["POSTGRES_DB"] in box["environment"]["GATEWAY_DATABASE_URL"]
        assert "serve" in box["command"] and "--workers" in box["command"]
    assert services["gateway"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "--migrate" in services["gateway"]["command"]  # one box migrates, the other waits
    assert services["gateway-2"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    urls = {box["environment"]["GATEWAY_CLUSTER_URL"] for box in boxes}
    assert urls == {"http://gateway", "http://gateway-2"}  # each names itself for the other
    ports = [box["ports"][0].split(":")[0] for box in boxes]
    assert len(set(ports)) == 2


def test_the_gateway_service_command_migrates_and_becomes_healthy(
    tmp_path: Path, database_url: str
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["gateway"]
    command = service["command"]
    assert command[:3] == ["python", "-m", "gateway"]
    url = database_url.replace("gateway.db", "compose.db")
    if url.startswith("sqlite"):  # SQLite is one process's database: the same, alone
        at = command.index("--workers")
        command = command[:at] + command[at + 2 :]
    port = _free_port()
    env = {
        **os.environ,
        **{k: str(v) for k, v in service["environment"].items()},
        # the container's addresses and paths, mapped onto this machine:
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_CLUSTER_URL": "http://127.0.0.1",
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
