"""``python -m simulator --cameras N``: serve N simulated cameras until SIGINT/SIGTERM.

Prints one JSON document describing every camera's endpoints on stdout once they are up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from ._config import PictureMode
from ._discovery import WS_DISCOVERY_PORT
from ._fleet import CameraFleet


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
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    fleet = CameraFleet.create(
        args.cameras,
        mode=PictureMode(args.mode),
        host=args.host,
        base_port=args.base_port,
        discovery_port=None if args.discovery_port < 0 else args.discovery_port,
        clip_cache_dir=args.cache_dir or _default_cache_dir(),
        clip_seconds=args.clip_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with fleet:
        sys.stdout.write(json.dumps(fleet.endpoints(), ensure_ascii=False, indent=2) + "\n")
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
