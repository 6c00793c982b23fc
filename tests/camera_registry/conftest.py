"""Peers for the camera_registry tests: GStreamer's RTSP server as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

GST_SERVER = Path(__file__).resolve().parents[1] / "peers" / "gst_rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gst_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class GstServer:
    def __init__(self, port: int, args: list[str]) -> None:
        self.port = port
        self.args = args
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> GstServer:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(GST_SERVER), "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"GStreamer RTSP server did not start: {line!r}")
        return self

    def stop(self) -> str:
        """Stop the server; what it printed after READY."""
        proc, self.proc = self.proc, None
        if proc is None:
            return ""
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        return output or ""


@pytest.fixture
def gst_server() -> Iterator[Callable[..., GstServer]]:
    """Factory: ``gst_server("--onvif", "--auth", "digest")`` → a running server."""
    if not _gst_available():
        pytest.skip("GStreamer RTSP server bindings are not installed (python3-gst-1.0)")
    started: list[GstServer] = []

    def start(*args: str, port: int | None = None) -> GstServer:
        server = GstServer(port or free_port(), list(args)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
