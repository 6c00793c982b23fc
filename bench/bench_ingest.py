"""CPU of RTSP ingest + StreamHub per camera, against FFmpeg on the same streams.

Run from the repository root::

    .venv/bin/python -m bench.bench_ingest --gst 1 10 20          # GStreamer source
    .venv/bin/python -m bench.bench_ingest --urls rtsp://… rtsp://…  # e.g. the simulator

For every camera count N it measures, in the same run and on the same streams:

- FFmpeg: N × ``ffmpeg -rtsp_transport tcp -i URL -c copy -f null -``, CPU read from
  ``/proc/<pid>/stat`` over the measuring window (start-up and probing excluded);
- ours: N × :class:`CameraIngest` (RTSP client + depacketizer + hub, one draining
  subscriber per hub) in this process, CPU from ``time.process_time()`` over the same
  window length.

``--gst`` starts GStreamer's RTSP server (tests/peers/gst_rtsp_server.py) with one
shared 1080p25 ~4 Mbps H.264 + G.711 encode; every camera is its own RTSP session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

from camera_registry._hub import StreamHub
from camera_registry._ingest import CameraIngest

_TICK = os.sysconf("SC_CLK_TCK")
_GST = Path(__file__).resolve().parents[1] / "tests" / "peers" / "gst_rtsp_server.py"


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gst(width: int, height: int, bitrate: int) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(_GST), "--port", str(port), "--shared",
         "--width", str(width), "--height", str(height), "--bitrate", str(bitrate),
         "--gop", "50", "--pattern", "smpte", "--audio", "pcmu"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    if not proc.stdout.readline().startswith("READY"):
        proc.kill()
        raise SystemExit("GStreamer RTSP server did not start (python3-gst-1.0 installed?)")
    return proc, f"rtsp://127.0.0.1:{port}/cam"


def _spawn_ffmpeg(url: str) -> subprocess.Popen[bytes]:
    # staggered by the caller: GStreamer's server stalls on dozens of simultaneous DESCRIBEs
    time.sleep(0.1)
    return subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
            "-c",
            "copy",
            "-f",
            "null",
            "-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_ffmpeg(urls: list[str], warmup: float, seconds: float) -> float:
    procs = [_spawn_ffmpeg(url) for url in urls]
    try:
        time.sleep(warmup)
        start = sum(_proc_cpu(p.pid) for p in procs)
        time.sleep(seconds)
        end = sum(_proc_cpu(p.pid) for p in procs)
        if any(p.poll() is not None for p in procs):
            raise SystemExit("an ffmpeg process ended early: is the stream reachable?")
        return end - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


async def _drain(hub: StreamHub) -> None:
    async for _frame in hub.subscribe():
        pass


async def run_ours(
    urls: list[str], warmup: float, seconds: float
) -> tuple[float, float, float, float]:
    """CPU seconds; per camera: video fps, RSS MiB, Mbit/s."""
    rss_before = _rss_mib()
    ingests = [CameraIngest(f"bench-{i}", url, backchannel=False) for i, url in enumerate(urls)]
    drains = [asyncio.create_task(_drain(ing.hub)) for ing in ingests]
    for ing in ingests:
        await ing.start()
    try:
        await asyncio.sleep(warmup)
        cpu0 = time.process_time()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        video = sum(ing.hub.stats().fps for ing in ingests) / len(ingests)
        mbps = sum(ing.hub.stats().bitrate for ing in ingests) / len(ingests) / 1e6
        offline = {ing.state.reason for ing in ingests if ing.state and not ing.state.online}
        reconnects = sum(ing.sessions - 1 for ing in ingests)
        if offline or reconnects:
            print(f"  warning: {reconnects} reconnects; offline reasons: {offline or '-'}")
        rss = (_rss_mib() - rss_before) / len(ingests)
        return cpu, video, rss, mbps
    finally:
        for ing in ingests:
            await ing.close()
            ing.hub.close()
        for task in drains:
            await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--urls", nargs="+", help="RTSP URLs, one per camera")
    source.add_argument("--gst", nargs="+", type=int, metavar="N", help="camera counts")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--bitrate", type=int, default=4000, help="kbit/s (with --gst)")
    args = parser.parse_args()

    server = None
    if args.gst:
        width, height = (int(v) for v in args.size.split("x"))
        server, url = start_gst(width, height, args.bitrate)
        runs = [[url] * n for n in args.gst]
    else:
        runs = [args.urls]
    try:
        print(f"{'cams':>4} {'ffmpeg %CPU/cam':>16} {'ours %CPU/cam':>14} {'ratio':>6} "
              f"{'fps/cam':>8} {'Mbit/s/cam':>11} {'RSS MiB/cam':>12}")  # fmt: skip
        for urls in runs:
            n = len(urls)
            ff = run_ffmpeg(urls, args.warmup, args.seconds)
            ours, fps, rss, mbps = asyncio.run(run_ours(urls, args.warmup, args.seconds))
            ff_pct = 100 * ff / args.seconds / n
            our_pct = 100 * ours / args.seconds / n
            ratio = our_pct / ff_pct if ff_pct else float("inf")
            print(f"{n:>4} {ff_pct:>16.2f} {our_pct:>14.2f} {ratio:>6.2f} {fps:>8.1f} {mbps:>11.2f} {rss:>12.1f}",
                  flush=True)  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
