"""County scale: every frame of N cameras in the served gateway, against FFmpeg.

Run from the repository root::

    .venv/bin/python -m bench.bench_county --cameras 10 40 100 [--record] [--viewers 16]

For every camera count N, on one GStreamer RTSP server serving one shared 1080p25
~4 Mbit/s H.264 + G.711 encode under N distinct URLs (:class:`bench.served.GstSource`):

1. **Baseline**: N × ``ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`` (with
   ``--record``: ``-c:v copy -c:a aac -f segment``, as Frigate records), frames counted
   from ``-progress`` over the window, CPU of the ffmpeg processes from ``/proc``.
2. **The product**: ``python -m gateway serve`` (``bench.served.ServedGateway``), the N
   cameras registered one by one through ``POST /api/cameras`` (registration time per
   camera), all online, then over the same window: the ``frames`` counter of every camera
   from ``GET /api/cameras`` (frames/s per camera), the ``fps`` the gateway reports, its
   ``gaps``/``lost``, CPU of the whole process tree, RSS, and API latency (an API client
   polling ``GET /api/cameras/{id}`` and ``GET /api/cameras`` throughout, p50/p99).
   ``--record`` sets every room to continuous recording first; ``--viewers V`` opens V
   WHEP sessions (aiortc receivers that count whole frames without decoding them).

The phases run one after the other on the same server, so each has the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.served import FfmpegReaders, GstSource, ServedGateway
from bench.viewers import WhepViewers

WARMUP = 5.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def baseline(source: GstSource, window: float, record: bool) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="zz-ffseg-")
    outputs = []
    for index in range(source.count):
        if record:
            pattern = str(Path(tmp.name) / f"c{index}-%05d.mp4")
            outputs.append(["-c:v", "copy", "-c:a", "aac", "-f", "segment",
                            "-segment_time", "60", "-reset_timestamps", "1", pattern])  # fmt: skip
        else:
            outputs.append(["-c", "copy", "-f", "null", "-"])
    readers = [FfmpegReaders([url], out) for url, out in zip(source.urls, outputs, strict=True)]
    for reader in readers:
        await reader.start()
    await asyncio.sleep(WARMUP)
    frames0 = [r.frames[0] for r in readers]
    cpu0 = sum(r.cpu() for r in readers)
    await asyncio.sleep(window)
    frames1 = [r.frames[0] for r in readers]
    cpu1 = sum(r.cpu() for r in readers)
    for reader in readers:
        await reader.close()
    tmp.cleanup()
    rates = [(b - a) / window for a, b in zip(frames0, frames1, strict=True)]
    return {
        "fps_per_camera_min": min(rates),
        "fps_per_camera_median": statistics.median(rates),
        "cpu_percent_per_camera": (cpu1 - cpu0) / window * 100 / source.count,
    }


async def _api_probe(gateway: ServedGateway, ids: list[int], stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    index = 0
    while not stop.is_set():
        path = "/api/cameras" if index % 5 == 0 else f"/api/cameras/{ids[index % len(ids)]}"
        started = time.perf_counter()
        await gateway.call("GET", path)
        latencies.append((time.perf_counter() - started) * 1000)
        index += 1
        await asyncio.sleep(0.05)
    return latencies


async def product(
    source: GstSource, window: float, *, record: bool, viewers: int
) -> dict[str, Any]:
    gateway = ServedGateway()
    await gateway.start()
    watchers: WhepViewers | None = None
    try:
        started = time.perf_counter()
        ids, took = await gateway.register(source.urls)
        register_seconds = time.perf_counter() - started
        await gateway.wait_online(ids)
        if record:
            for room in await gateway.rooms():
                await gateway.call(
                    "POST", f"/api/rooms/{room['id']}/recording-policy", json={"mode": "continuous"}
                )
        if viewers:
            watchers = WhepViewers(gateway)
            await watchers.open([ids[i % len(ids)] for i in range(viewers)])
        await asyncio.sleep(WARMUP)
        before = await gateway.cameras()
        cpu0 = gateway.cpu()
        seen0 = watchers.frames() if watchers else 0
        stop = asyncio.Event()
        probe = asyncio.create_task(_api_probe(gateway, ids, stop))
        await asyncio.sleep(window)
        stop.set()
        latencies = await probe
        after = await gateway.cameras()
        cpu1 = gateway.cpu()
        seen1 = watchers.frames() if watchers else 0
        rss = gateway.rss_mib()
        rates = [(after[i]["state"]["frames"] - before[i]["state"]["frames"]) / window for i in ids]
        reported = [after[i]["state"]["fps"] for i in ids]
        gaps = sum(
            after[i]["state"].get("gaps", 0) - before[i]["state"].get("gaps", 0) for i in ids
        )
        lost = sum(
            after[i]["state"].get("lost", 0) - before[i]["state"].get("lost", 0) for i in ids
        )
        return {
            "register_seconds_total": register_seconds,
            "register_seconds_median": statistics.median(took),
            "fps_per_camera_min": min(rates),
            "fps_per_camera_median": statistics.median(rates),
            "fps_reported_min": min(reported),
            "fps_reported_max": max(reported),
            "gaps_in_window": gaps,
            "packets_lost_in_window": lost,
            "cpu_percent_per_camera": (cpu1 - cpu0) / window * 100 / len(ids),
            "cpu_percent_total": (cpu1 - cpu0) / window * 100,
            "rss_mib": rss,
            "rss_mib_per_camera": rss / len(ids),
            "api_p50_ms": _pct(latencies, 0.50),
            "api_p99_ms": _pct(latencies, 0.99),
            "api_requests": len(latencies),
            "viewer_frames_per_second": (seen1 - seen0) / window if watchers else None,
        }
    finally:
        if watchers is not None:
            await watchers.close()
        await gateway.close()


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for count in args.cameras:
        source = GstSource(count)
        try:
            base = await baseline(source, args.window, args.record)
            ours = await product(source, args.window, record=args.record, viewers=args.viewers)
        finally:
            source.close()
        row = {
            "cameras": count,
            "record": args.record,
            "viewers": args.viewers,
            "ffmpeg": base,
            "gateway": ours,
            "frames_ratio_min": ours["fps_per_camera_min"] / base["fps_per_camera_median"],
            "cpu_ratio": ours["cpu_percent_per_camera"] / base["cpu_percent_per_camera"],
        }
        print(json.dumps(row, indent=1), flush=True)
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--viewers", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
