"""The product as a county operator runs it, for benchmarks: ``python -m gateway serve`` in
its own process (or several), driven through its HTTP API, with peers around it.

- :class:`GstSource`: GStreamer's RTSP server (an independent peer) with ONE shared
  1080p25 H.264 + G.711 encode served under ``/cam0 … /cam<N-1>`` — distinct URLs for
  distinct cameras, one encoder for the machine (tests/peers/gst_rtsp_server.py
  ``--mounts``).
- :class:`ServedGateway`: a data directory, ``migrate`` + ``demo-seed`` (organisation,
  rooms, the demo accounts), then ``serve``; sign-in as the county admin and the JSON API.
- :class:`FfmpegReaders`: N × ``ffmpeg -rtsp_transport tcp -i URL -c copy …`` with
  ``-progress`` so frames are counted over the same kind of window.
- ``proc_cpu``/``proc_rss``: CPU seconds and RSS of a process tree from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
GST = ROOT / "tests" / "peers" / "gst_rtsp_server.py"
PASSWORD = "Zongzhi-demo-2026"  # the demo accounts' password (demo-seed)
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(p) for p in f.read().split()]
    except OSError:
        return []
    return kids + [grand for kid in kids for grand in _children(kid)]


def proc_cpu(pid: int, *, tree: bool = True) -> float:
    """CPU seconds (user + system) of ``pid`` and, with ``tree``, its live children."""
    total = 0.0
    for p in [pid, *(_children(pid) if tree else [])]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def proc_rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class GstSource:
    """One shared 1080p25 encode behind ``count`` RTSP URLs."""

    def __init__(self, count: int, *, width: int = 1920, height: int = 1080, kbps: int = 4000):
        self.port = free_port()
        self.count = count
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(GST), "--port", str(self.port), "--shared",
             "--mounts", str(count), "--width", str(width), "--height", str(height),
             "--bitrate", str(kbps), "--gop", "50", "--pattern", "smpte", "--audio", "pcmu"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline().startswith("READY"):
            self.proc.kill()
            raise SystemExit("GStreamer RTSP server did not start (python3-gst-1.0 installed?)")

    def url(self, index: int) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam{index}"

    @property
    def urls(self) -> list[str]:
        return [self.url(i) for i in range(self.count)]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class FfmpegReaders:
    """``ffmpeg`` per URL with ``-progress``: frames read so far, per reader."""

    def __init__(
        self, urls: Sequence[str], output: Sequence[str] = ("-c", "copy", "-f", "null", "-")
    ) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.frames: list[int] = [0] * len(urls)
        self._readers: list[asyncio.Task[None]] = []
        self._urls = list(urls)
        self._output = list(output)

    async def start(self) -> None:
        for index, url in enumerate(self._urls):
            proc = await asyncio.create_subprocess_exec(
                "ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp",
                "-i", url, *self._output, "-progress", "pipe:1", "-stats_period", "0.5",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            self.procs.append(proc)
            self._readers.append(asyncio.create_task(self._read(index, proc)))
            await asyncio.sleep(
                0.1
            )  # GStreamer's server stalls on dozens of simultaneous DESCRIBEs

    async def _read(self, index: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace")
            if line.startswith("frame="):
                self.frames[index] = int(line.split("=", 1)[1])

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid, tree=False) for p in self.procs)

    async def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self._readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ServedGateway:
    """``python -m gateway serve`` on a fresh data directory, driven over HTTP."""

    def __init__(self, *, env: dict[str, str] | None = None, data_dir: Path | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="zz-bench-") if data_dir is None else None
        self.data_dir = data_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GATEWAY_DATA_DIR": str(self.data_dir),
            "GATEWAY_HTTP_PORT": str(self.port),
            "GATEWAY_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: aiohttp.ClientSession | None = None
        self.csrf = ""

    def _cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "gateway", *args], env=self.env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip

    def _serve(self) -> subprocess.Popen[bytes]:
        with open(self.data_dir / "gateway.log", "wb") as log:
            return subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=self.env,
                                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

    async def start(self, *, seed: bool = True) -> None:
        if seed:
            await asyncio.to_thread(self._cli, "migrate")
            await asyncio.to_thread(self._cli, "demo-seed")
        self.proc = await asyncio.to_thread(self._serve)
        self.http = aiohttp.ClientSession(self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get("/healthz") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit(f"the gateway did not start; see {self.data_dir / 'gateway.log'}")
        await self.sign_in("county.admin")

    async def sign_in(self, username: str) -> None:
        assert self.http is not None
        async with self.http.post(
            "/api/session", json={"username": username, "password": PASSWORD}
        ) as response:
            body = await response.json()
            if response.status != 200:
                raise SystemExit(f"sign-in failed: {body}")
        self.csrf = body["csrf_token"]

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.http is not None
        headers = {"X-CSRF-Token": self.csrf} if method != "GET" else {}
        async with self.http.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            if response.status >= 400:
                raise RuntimeError(f"{method} {path} → {response.status}: {body}")
            return body

    async def rooms(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/api/rooms"))["rooms"])

    async def register(self, urls: Sequence[str]) -> tuple[list[int], list[float]]:
        """Register every URL by RTSP URL into the demo rooms in turn; ids and seconds each."""
        rooms = [r["id"] for r in await self.rooms()]
        ids: list[int] = []
        took: list[float] = []
        for index, url in enumerate(urls):
            started = time.perf_counter()
            camera = await self.call(
                "POST",
                "/api/cameras",
                json={
                    "room_id": rooms[index % len(rooms)],
                    "rtsp_url": url,
                    "name": f"bench {index}",
                },
            )
            took.append(time.perf_counter() - started)
            ids.append(camera["id"])
        return ids, took

    async def cameras(self) -> dict[int, dict[str, Any]]:
        body = await self.call("GET", "/api/cameras")
        items = body["cameras"] if isinstance(body, dict) else body
        return {c["id"]: c for c in items}

    async def wait_online(self, ids: Sequence[int], within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            cams = await self.cameras()
            if all((cams[i].get("state") or {}).get("online") for i in ids):
                return
            await asyncio.sleep(0.5)
        raise SystemExit("cameras did not all come online in time")

    def cpu(self) -> float:
        assert self.proc is not None
        return proc_cpu(self.proc.pid)

    def rss_mib(self) -> float:
        assert self.proc is not None
        return proc_rss_mib(self.proc.pid)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._tmp is not None:
            self._tmp.cleanup()
