"""docker-compose.yml cannot run here (no Docker engine), so run what it runs: the gateway
service's command with its environment, against this machine's database, and probe the same
health check."""

from __future__ import annotations

import asyncio
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


def _port(env: dict[str, str], name: str) -> int:
    return int(env[name])


def test_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    db = services["db"]
    boxes = [services["gateway"], services["gateway-2"]]
    assert set(compose["volumes"]) == {"pgdata", "gatewaydata"}
    # PostgreSQL answers on this machine's loopback only, where the host-networked boxes are.
    assert db["ports"] == ["127.0.0.1:5432:5432"]
    used: list[tuple[str, int]] = []
    for box in boxes:
        env = box["environment"]
        # Host networking: browsers get ICE candidates with the machine's LAN address,
        # WS-Discovery multicast reaches the cameras; so no published ports.
        assert box["network_mode"] == "host" and "ports" not in box
        assert box["init"] is True
        assert "gatewaydata:/data" in box["volumes"]  # the same keys and recordings
        assert env["GATEWAY_DATA_DIR"] == "/data"
        assert env["GATEWAY_HTTP_HOST"] == "0.0.0.0"
        assert "@127.0.0.1:5432/" + db["environment"]["POSTGRES_DB"] in env["GATEWAY_DATABASE_URL"]
        assert env["GATEWAY_CLUSTER_URL"] == "http://127.0.0.1"
        assert "serve" in box["command"] and "--workers" in box["command"]
        workers = int(box["command"][box["command"].index("--workers") + 1])
        http = _port(env, "GATEWAY_HTTP_PORT")
        used += [("tcp", http)] + [("tcp", http + 1 + i) for i in range(workers)]
        sip = _port(env, "GATEWAY_UPLINK_SIP_PORT")
        used += [("tcp", sip), ("udp", sip)]
        rtsp = _port(env, "GATEWAY_RESTREAM_PORT")  # shared; each worker's own after it
        used += [("tcp", rtsp)] + [("tcp", rtsp + 1 + i) for i in range(workers)]
        assert "GATEWAY_HTTP_PORT" in box["healthcheck"]["test"][-1]
    # Two boxes on one machine's network: no port bound twice (workers included).
    assert len(used) == len(set(used)), sorted(used)
    assert ("tcp", 5432) not in used
    assert services["gateway"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "--migrate" in services["gateway"]["command"]  # one box migrates, the other waits
    assert services["gateway-2"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    header = (ROOT / "docker-compose.yml").read_text().split("x-gateway:")[0]
    assert "python -m gateway init" in header and "user add --unit" not in header


def test_the_image_holds_every_package() -> None:
    """The Dockerfile copies every package pyproject installs, and exposes the ports."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    assert packages <= copied, packages - copied
    exposed = next(line for line in dockerfile.splitlines() if line.startswith("EXPOSE"))
    assert set(exposed.split()[1:]) >= {"8080", "5060/udp", "5060/tcp", "8554"}


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
        # this shared machine's 5060 and 8554 may be taken by other tests
        "GATEWAY_UPLINK_SIP_PORT": "0",
        "GATEWAY_RESTREAM_PORT": "0",
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


async def test_the_compose_settings_serve_live_view_to_a_lan_browser(tmp_path: Path) -> None:
    """The gateway service's settings, on this host as host networking runs them: a camera
    registered through the API, a WHEP viewer (aiortc, as a LAN browser's stack) receives
    its video, and the answer offers the advertised address as a host candidate."""
    import aiortc.rtcrtpreceiver as receiver_module

    from bench.served import GstSource, ServedGateway, free_port
    from bench.viewers import WhepViewers

    real_decoder = receiver_module.get_decoder  # the viewers count frames instead

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["gateway"]
    env = {k: str(v) for k, v in service["environment"].items()}
    env.update(
        {
            # this machine's paths, database and free ports in place of the container's
            "GATEWAY_DATA_DIR": str(tmp_path),
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            "GATEWAY_HTTP_HOST": "127.0.0.1",
            "GATEWAY_UPLINK_SIP_PORT": "0",
            "GATEWAY_RESTREAM_PORT": "0",
            # what a site behind NAT sets; loopback stands in for the LAN address here
            "GATEWAY_WEBRTC_ADVERTISE_HOSTS": "127.0.0.2",
        }
    )
    source = GstSource(1, width=640, height=360, kbps=600)
    gateway = ServedGateway(env=env, data_dir=tmp_path)
    gateway.port = free_port()
    gateway.base = f"http://127.0.0.1:{gateway.port}"
    gateway.env["GATEWAY_HTTP_PORT"] = str(gateway.port)
    viewers: WhepViewers | None = None
    try:
        await gateway.start()
        ids, _ = await gateway.register(source.urls)
        await gateway.wait_online(ids)
        viewers = WhepViewers(gateway)
        await viewers.open(ids)
        remote = viewers.peers[0].remoteDescription.sdp
        assert " 127.0.0.2 " in remote, remote
        for _ in range(300):
            if viewers.frames() >= 25:
                break
            await asyncio.sleep(0.1)
        assert viewers.frames() >= 25, "no video reached the viewer"
    finally:
        if viewers is not None:
            await viewers.close()
        receiver_module.get_decoder = real_decoder
        await gateway.close()
        source.close()
