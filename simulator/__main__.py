"""``python -m simulator --cameras N``: serve N simulated cameras until SIGINT/SIGTERM.

``--platform`` also runs a simulated GB/T 28181 upper platform (``--platform-port``,
``--platform-server-id``, ``--platform-password``); ``--cameras 0 --platform`` runs only
the platform.  Prints one JSON document describing every camera's endpoints (and the
platform's, under ``"platform"``) on stdout once they are up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from ._config import PictureMode
from ._discovery import WS_DISCOVERY_PORT
from ._fleet import CameraFleet
from ._gb_platform import SimulatedPlatform


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zongzhi-gateway" / "simulator"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--cameras", type=int, default=2, help="number of cameras (default 2)")
    parser.add_argument("--mode", choices=[m.value for m in PictureMode], default="replay")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="camera i uses HTTP P+2i and RTSP P+2i+1 (default: free ports)",
    )
    parser.add_argument(
        "--discovery-port",
        type=int,
        default=WS_DISCOVERY_PORT,
        help="WS-Discovery UDP port (default 3702; 0 = any free port; -1 = off)",
    )
    parser.add_argument("--clip-seconds", type=int, default=2, help="replay clip length")
    parser.add_argument("--cache-dir", type=Path, default=None, help="replay clip cache")
    parser.add_argument("--platform", action="store_true", help="run an upper platform too")
    parser.add_argument("--platform-port", type=int, default=15060, help="its SIP port")
    parser.add_argument("--platform-server-id", default="34020000002000000001")
    parser.add_argument("--platform-password", default="12345678")
    parser.add_argument("--platform-no-qop", action="store_true", help="plain MD5 digest")
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    if args.cameras < 1 and not args.platform:
        raise SystemExit("nothing to run: give --cameras N (N ≥ 1) and/or --platform")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        endpoints: dict[str, object] = {"discovery": None, "cameras": []}
        if args.cameras > 0:
            fleet = CameraFleet.create(
                args.cameras,
                mode=PictureMode(args.mode),
                host=args.host,
                base_port=args.base_port,
                discovery_port=None if args.discovery_port < 0 else args.discovery_port,
                clip_cache_dir=args.cache_dir or _default_cache_dir(),
                clip_seconds=args.clip_seconds,
            )
            await stack.enter_async_context(fleet)
            endpoints = fleet.endpoints()
        if args.platform:
            platform = SimulatedPlatform(
                server_id=args.platform_server_id,
                password=args.platform_password,
                host=args.host,
                port=args.platform_port,
                qop=not args.platform_no_qop,
            )
            await stack.enter_async_context(platform)
            endpoints["platform"] = {
                "host": platform.host,
                "port": platform.port,
                "server_id": platform.server_id,
                "domain": platform.domain,
                "password": platform.password,
                "transports": ["udp", "tcp"],
            }
        sys.stdout.write(json.dumps(endpoints, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()
        await stop.wait()
    logging.getLogger(__name__).info("simulator stopped")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
