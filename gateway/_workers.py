"""``serve --workers N``: one gateway process per core on one box, sharing PostgreSQL.

One Python event loop is one core.  The parent starts N worker processes (``python -m
gateway serve --worker I``) and supervises them; it serves nothing itself:

- every worker listens on the public address with ``SO_REUSEPORT`` (the kernel spreads
  connections over them) and on a port of its own, ``<base + 1 + I>``: its address in the
  cluster, where the others forward live sessions for the cameras it runs.  On loopback
  (``http://127.0.0.1:<port>``) when the box is alone; when ``GATEWAY_CLUSTER_URL`` names
  this box for the others (``http://gateway-2``), the workers are ``http://gateway-2:<port>``
  and that port listens on the public address;
- the cameras are shared through their leases in the database, as between boxes;
- a worker that dies is started again after a short back-off (its cameras are taken over
  by the others meanwhile); the RTSP restream likewise shares ``[restream] port`` and
  each worker takes pulls on ``<restream port + 1 + I>`` too, where the others redirect
  readers of the cameras it runs (RTSP 302); SIGTERM/SIGINT stop every worker; a worker dies with its
  parent (``PR_SET_PDEATHSIG``), so a killed parent leaves no orphan holding the port.

SQLite is one process's database: workers need ``GATEWAY_DATABASE_URL`` on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import web

from core import Settings

__all__ = ["die_with_parent", "run_worker", "supervise"]

log = logging.getLogger("gateway")

_PR_SET_PDEATHSIG = 1
_RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


def die_with_parent(parent: int | None = None) -> None:
    """Linux: get SIGTERM when the parent process dies (no orphan keeps the port).

    Given the parent's pid (taken before the fork), a child whose parent died before the
    request took effect exits at once: the signal is sent only for a death that follows.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def internal_port(settings: Settings, index: int) -> int:
    return settings.http.port + 1 + index


def worker_url(settings: Settings, index: int) -> str:
    """Where the other processes reach worker ``index`` (its own port on this box)."""
    host = urlsplit(settings.cluster.url).hostname if settings.cluster.url else None
    return f"http://{host or '127.0.0.1'}:{internal_port(settings, index)}"


def supervise(settings: Settings, workers: int, argv: Sequence[str]) -> int:
    """Run ``workers`` worker processes until SIGTERM/SIGINT; restart those that die."""
    if settings.database_url.startswith("sqlite"):
        print(
            "serve --workers needs PostgreSQL (GATEWAY_DATABASE_URL=postgresql+asyncpg://…): "
            "SQLite is one process's database",
            file=sys.stderr,
        )
        return 2
    stopping = False
    procs: dict[int, subprocess.Popen[bytes]] = {}
    restarts: dict[int, int] = dict.fromkeys(range(workers), 0)
    started: dict[int, float] = {}

    def spawn(index: int) -> None:
        env = {
            **os.environ,
            "GATEWAY_CLUSTER_URL": f"http://127.0.0.1:{internal_port(settings, index)}",
        }
        if settings.restream.port:
            # the workers share the RTSP port; each also takes pulls on a port of its own,
            # where the others redirect readers of the cameras it runs
            env["GATEWAY_RESTREAM_OWN_PORT"] = str(settings.restream.port + 1 + index)
        command = [sys.executable, "-m", "gateway", *argv, "--worker", str(index)]
        procs[index] = subprocess.Popen(command, env=env)
        started[index] = time.monotonic()
        log.info("worker started", extra={"worker": index, "pid": procs[index].pid})

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(workers):
        spawn(index)
    print(
        f"综治视频网关已启动: http://{settings.http.host}:{settings.http.port} "
        f"({workers} worker processes)",
        flush=True,
    )
    while procs:
        time.sleep(0.5)
        for index, proc in list(procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del procs[index]
            if stopping:
                continue
            if time.monotonic() - started[index] > 60:
                restarts[index] = 0  # it ran a while: start the back-off over
            delay = _RESTART_BACKOFF[min(restarts[index], len(_RESTART_BACKOFF) - 1)]
            restarts[index] += 1
            log.warning(
                "worker exited; starting it again",
                extra={"worker": index, "code": code, "in_seconds": delay},
            )
            time.sleep(delay)
            if not stopping:
                spawn(index)
    return 0


def _public_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def run_worker(
    app: web.Application, settings: Settings, index: int, ssl_context: ssl.SSLContext | None
) -> int:
    """Serve ``app`` on the shared public port and on this worker's loopback port."""
    die_with_parent()
    public = _public_socket(settings.http.host, settings.http.port)
    # reachable from other boxes only when the deployment names this box for them
    host = urlsplit(settings.cluster.url).hostname
    bind = "127.0.0.1" if host in (None, "127.0.0.1", "localhost") else settings.http.host
    internal = socket.create_server((bind, internal_port(settings, index)))
    internal.setblocking(False)

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, public, ssl_context=ssl_context).start()
        await web.SockSite(runner, internal).start()  # siblings only: plain HTTP on loopback
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
    return 0
