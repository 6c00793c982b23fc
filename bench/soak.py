"""Soak: the served gateway recording N cameras for a long time, viewers coming and going.

``python -m bench.soak --cameras 40 --minutes 60`` (``make soak``):

- N cameras: GStreamer's RTSP server (an independent peer, one shared encode behind N
  URLs), registered through the API of ``python -m gateway serve`` into the demo rooms, every
  room set to record continuously;
- WHEP viewers (real aiortc peer connections) join a random camera every ``--churn``
  seconds and the oldest leaves once ``--viewers`` watch;
- every ``--interval`` seconds one sample to ``samples.jsonl``: CPU % and RSS of the
  gateway's process tree, its open file descriptors, the recording queues (frames taken
  from the cameras and not yet on disk, from ``/metrics``), recording gaps and camera
  outages so far, cameras online, viewers;
- at the end PNG charts (matplotlib) and ``summary.json`` with the :func:`verdict`: no gap
  that an injected fault does not explain (none is injected here), memory and descriptors
  flat over the second half, queues bounded.

Nothing leaves the machine: every peer is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.served import GstSource, ServedGateway, _children

# A writer that keeps up holds at most a few batches: 10 s of 25 fps video per camera is
# far beyond that and means the disk (or the loop) does not keep pace.
QUEUE_BOUND_FRAMES = 250


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the first sample
    cpu_percent: float
    rss_mib: float
    fds: int
    queued_frames_max: int  # the largest per-camera recording queue
    queued_frames_total: int
    recording_gaps: int  # gaps written into recordings so far (all cameras)
    camera_outages: int  # stream gaps the cameras' hubs saw so far
    cameras_online: int
    recordings_active: int
    viewers: int


@dataclass
class Verdict:
    ok: bool
    findings: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope (pure; 0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def verdict(
    samples: Sequence[Sample],
    *,
    cameras: int,
    explained_gaps: int = 0,
    rss_allowance_mib: float = 16.0,
    fd_allowance: int = 16,
    queue_bound: int = QUEUE_BOUND_FRAMES,
) -> Verdict:
    """Judge a soak from its samples (pure).

    - every camera online and recording at the end;
    - no recording gap and no camera outage beyond ``explained_gaps`` (injected faults);
    - RSS flat over the second half: the trend across that half grows less than
      ``rss_allowance_mib`` or 3 % of the median, whichever is larger;
    - open descriptors flat over the second half likewise (``fd_allowance``; viewers come
      and go, so single samples move and the trend is what counts);
    - the largest recording queue of any camera stays under ``queue_bound`` frames.
    """
    if len(samples) < 4:
        return Verdict(False, [f"only {len(samples)} samples: run longer"])
    findings: list[str] = []
    first, last = samples[0], samples[-1]
    half = samples[len(samples) // 2 :]
    span = half[-1].t - half[0].t
    ts = [s.t for s in half]
    rss_growth = _slope(ts, [s.rss_mib for s in half]) * span
    fd_growth = _slope(ts, [float(s.fds) for s in half]) * span
    rss_median = sorted(s.rss_mib for s in half)[len(half) // 2]
    gaps = last.recording_gaps - first.recording_gaps
    outages = last.camera_outages - first.camera_outages
    queue_max = max(s.queued_frames_max for s in samples)
    figures = {
        "duration_s": last.t - first.t,
        "cpu_percent_median": sorted(s.cpu_percent for s in samples)[len(samples) // 2],
        "rss_mib_first": first.rss_mib,
        "rss_mib_last": last.rss_mib,
        "rss_growth_second_half_mib": rss_growth,
        "fds_first": float(first.fds),
        "fds_last": float(last.fds),
        "fd_growth_second_half": fd_growth,
        "queued_frames_max": float(queue_max),
        "recording_gaps": float(gaps),
        "camera_outages": float(outages),
    }
    if last.cameras_online < cameras:
        findings.append(f"{cameras - last.cameras_online} camera(s) offline at the end")
    if last.recordings_active < cameras:
        findings.append(f"{cameras - last.recordings_active} camera(s) not recording at the end")
    if gaps > explained_gaps:
        findings.append(f"{gaps} recording gap(s), {explained_gaps} explained by injected faults")
    if outages > explained_gaps:
        findings.append(f"{outages} camera outage(s), {explained_gaps} explained")
    if rss_growth > max(rss_allowance_mib, 0.03 * rss_median):
        findings.append(f"RSS grows {rss_growth:.1f} MiB over the second half")
    if fd_growth > fd_allowance:
        findings.append(f"open descriptors grow by {fd_growth:.0f} over the second half")
    if queue_max >= queue_bound:
        findings.append(f"a recording queue reached {queue_max} frames (bound {queue_bound})")
    return Verdict(not findings, findings, figures)


def open_fds(pid: int) -> int:
    total = 0
    for p in [pid, *_children(pid)]:
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{p}/fd"))
    return total


def _parse_metrics(text: str) -> dict[str, dict[str, float]]:
    """``/metrics`` → {sample name: {camera label (or ""): value}} for the gateway's series."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("gateway_recording_") or s.name.startswith("gateway_camera_"):
                key = s.labels.get("camera", "")
                out.setdefault(s.name, {})[key] = out.get(s.name, {}).get(key, 0.0) + s.value
    return out


class Churn:
    """Viewers join a random camera now and then; the oldest leaves past ``limit``."""

    def __init__(self, gateway: ServedGateway, ids: Sequence[int], limit: int, every: float):
        from bench.viewers import WhepViewers

        self._factory = WhepViewers
        self.gateway, self.ids, self.limit, self.every = gateway, list(ids), limit, every
        self.open: list[Any] = []
        self.joined = self.left = self.failed = 0
        self._rng = random.Random(14)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            viewer = self._factory(self.gateway)
            try:
                await viewer.open([self._rng.choice(self.ids)])
                self.open.append(viewer)
                self.joined += 1
            except Exception:  # a refused viewer is counted, the soak goes on
                self.failed += 1
                await viewer.close()
            while len(self.open) > self.limit:
                await self.open.pop(0).close()
                self.left += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    async def close(self) -> None:
        for viewer in self.open:
            await viewer.close()
        self.open.clear()


async def _sample(gateway: ServedGateway, t0: float, last: list[float], viewers: int) -> Sample:
    assert gateway.proc is not None and gateway.http is not None
    now, cpu = time.monotonic(), gateway.cpu()
    cpu_percent = (cpu - last[1]) / (now - last[0]) * 100 if last else 0.0
    last[:] = [now, cpu]
    async with gateway.http.get("/metrics") as response:
        metrics = _parse_metrics(await response.text())
    cameras = await gateway.cameras()
    queued = metrics.get("gateway_recording_queued_frames", {})
    return Sample(
        t=round(now - t0, 2),
        cpu_percent=round(cpu_percent, 1),
        rss_mib=round(gateway.rss_mib(), 1),
        fds=open_fds(gateway.proc.pid),
        queued_frames_max=int(max(queued.values(), default=0)),
        queued_frames_total=int(sum(queued.values())),
        recording_gaps=int(sum(metrics.get("gateway_recording_gaps_total", {}).values())),
        camera_outages=sum(int((c.get("state") or {}).get("gaps", 0)) for c in cameras.values()),
        cameras_online=sum(1 for c in cameras.values() if (c.get("state") or {}).get("online")),
        recordings_active=int(sum(metrics.get("gateway_recording_active", {}).values())),
        viewers=viewers,
    )


def draw(samples: Sequence[Sample], out: Path, title: str) -> list[Path]:
    """One PNG with four panels: CPU, memory, descriptors, queues and gaps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t / 60 for s in samples]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    panels = [
        (axes[0][0], "CPU % (gateway process tree)", [s.cpu_percent for s in samples]),
        (axes[0][1], "RSS MiB", [s.rss_mib for s in samples]),
        (axes[1][0], "open file descriptors", [s.fds for s in samples]),
        (axes[1][1], "largest recording queue (frames)", [s.queued_frames_max for s in samples]),
    ]
    for ax, label, values in panels:
        ax.plot(minutes, values, linewidth=1.2)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    twin = axes[1][1].twinx()
    twin.step(minutes, [s.recording_gaps for s in samples], color="tab:red", where="post")
    twin.set_ylabel("recording gaps (cumulative)", color="tab:red", fontsize=9)
    twin2 = axes[1][0].twinx()
    twin2.step(minutes, [s.viewers for s in samples], color="tab:green", where="post")
    twin2.set_ylabel("viewers", color="tab:green", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("minutes")
    fig.suptitle(title)
    fig.tight_layout()
    path = out / "soak.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]


def _append(path: Path, line: str) -> None:
    with path.open("a") as log:
        log.write(line + "\n")


async def soak(args: argparse.Namespace) -> tuple[list[Sample], dict[str, float]]:
    """Run the soak; the samples (also appended to ``samples.jsonl`` as they come)."""
    out: Path = args.out
    source = GstSource(args.cameras, width=args.width, height=args.height, kbps=args.kbps)
    env = {"GATEWAY_DATABASE_URL": args.database_url} if args.database_url else {}
    env["GATEWAY_RESTREAM_PORT"] = "0"
    env["GATEWAY_UPLINK_SIP_PORT"] = "0"
    gateway = ServedGateway(env=env)
    churn: Churn | None = None
    samples: list[Sample] = []
    try:
        await gateway.start()
        ids, _took = await gateway.register(source.urls)
        await gateway.wait_online(ids, within=60 + 3 * args.cameras)
        for room in await gateway.rooms():
            await gateway.call(
                "POST", f"/api/rooms/{room['id']}/recording-policy", json={"mode": "continuous"}
            )
        await asyncio.sleep(args.warmup)
        stop = asyncio.Event()
        churn = Churn(gateway, ids, args.viewers, args.churn)
        churn_task = asyncio.create_task(churn.run(stop))
        t0, last = time.monotonic(), [time.monotonic(), gateway.cpu()]
        deadline = t0 + args.minutes * 60
        while True:
            sample = await _sample(gateway, t0, last, len(churn.open))
            samples.append(sample)
            line = json.dumps(asdict(sample))
            await asyncio.to_thread(_append, out / "samples.jsonl", line)
            if not args.quiet:
                print(line, flush=True)
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
        stop.set()
        await churn_task
    finally:
        if churn is not None:
            await churn.close()
        await gateway.close()
        source.close()
    churned = {
        "viewers_joined": float(churn.joined if churn else 0),
        "viewers_left": float(churn.left if churn else 0),
        "viewers_refused": float(churn.failed if churn else 0),
    }
    return samples, churned


def report(args: argparse.Namespace, samples: list[Sample], churned: dict[str, float]) -> Verdict:
    """Judge the samples, draw the charts, write ``summary.json``."""
    result = verdict(samples, cameras=args.cameras)
    result.figures.update(churned)
    title = (
        f"soak: {args.cameras} cameras {args.width}x{args.height} recording, "
        f"≤{args.viewers} viewers churning, {args.minutes} min"
    )
    charts = draw(samples, args.out, title)
    summary = {"ok": result.ok, "findings": result.findings, "figures": result.figures,
               "charts": [str(c) for c in charts], "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cameras", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--viewers", type=int, default=6, help="viewers watching at once")
    parser.add_argument("--churn", type=float, default=20, help="seconds between joins")
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=20, help="seconds before sampling")
    parser.add_argument("--width", type=int, default=704)
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--kbps", type=int, default=512)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--out", type=Path, default=Path("bench/soak-results"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "samples.jsonl").write_text("")
    samples, churned = asyncio.run(soak(args))
    result = report(args, samples, churned)
    print(json.dumps({"ok": result.ok, "findings": result.findings, **result.figures}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
