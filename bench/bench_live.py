"""Live view and talk-back, measured with headless Chromium against simulated cameras.

Run from the repository root::

    .venv/bin/python -m bench.bench_live [--viewers 1 4 16] [--seconds 10]

In one run:

- **time to first frame**: from ``createOffer()`` in the page to the first frame the page
  presents (``requestVideoFrameCallback``), over fresh sessions to a 1080p camera;
- **glass-to-glass latency**: the live-mode simulator draws its wall clock (ms, as a bit
  code) into every frame before encoding; the page reads the code off each presented
  frame (canvas pixels) and subtracts it from its own wall clock at presentation;
- **talk latency**: with a talk session open and the microphone muted (the browser sends
  silence), the page unmutes a 1 kHz tone at a known wall time; the camera speaker's first
  loud packet tells when it arrived;
- **CPU per viewer**: this process (CameraManager ingest + LiveSessions, nothing else)
  over a window with 0 viewers (ingest alone), then 1, 4, 16 viewers of a 1080p stream,
  via ``time.process_time()``.  The simulator runs in its own process; so does Chromium.

The gateway side is the product's code (CameraManager, LiveSessions); signalling is a
bare WHEP endpoint on the bench's own aiohttp app.  Sessions are audited as in production,
into a fresh SQLite file: one write at each start and stop, none while media flows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web
from playwright.async_api import Page, async_playwright

from camera_registry import CameraManager, CameraSpec
from core import SYSTEM, Database, migrate
from sessions import CameraRef, LiveSessions, SessionNotFoundError
from simulator import SimulatedCamera, StreamProfile, default_camera_config
from tests.browser import ARGS, CHROMIUM

UNIT = "431226203201"

PAGE = """<!doctype html><html><body><div id=v></div><script>
const BLOCK = (w) => Math.max(8, Math.floor(w / 80));
function timeCode(video, canvas) {
  const w = video.videoWidth, h = video.videoHeight, b = BLOCK(w);
  canvas.width = w; canvas.height = 2 * b;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, h - 2 * b, w, 2 * b, 0, 0, w, 2 * b);
  const row = ctx.getImageData(0, Math.floor(b / 2), w, 1).data;
  const bit = (n) => { const x = Math.floor(b / 2) + n * b + Math.floor(b / 2);
    const i = 4 * x; return (row[i] * 0.299 + row[i + 1] * 0.587 + row[i + 2] * 0.114) > 128 ? 1 : 0; };
  if (bit(0) !== 1 || bit(1) !== 0 || bit(2) !== 1 || bit(3) !== 0) return null;
  let ms = 0; for (let n = 4; n < 52; n++) ms = ms * 2 + bit(n);
  return ms;
}
async function whep(path, pc) {
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/sdp" },
                                body: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  return r.headers.get("Location");
}
window.views = [];
window.openView = async (attach, samples) => {
  const t0 = performance.now();
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("video", { direction: "recvonly" });
  const view = { pc, first: null, lat: [] };
  window.views.push(view);
  const firstFrame = new Promise((resolve) => {
    pc.ontrack = (e) => {
      const video = document.createElement("video");
      video.muted = true; video.autoplay = true; video.playsInline = true;
      video.srcObject = new MediaStream([e.track]);
      if (attach) document.getElementById("v").appendChild(video);
      const canvas = document.createElement("canvas");
      const onFrame = (now, meta) => {
        if (view.first === null) { view.first = performance.now() - t0; resolve(); }
        if (samples && view.lat.length < samples) {
          const code = timeCode(video, canvas);
          const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
          if (code !== null) view.lat.push(shown - code);
          video.requestVideoFrameCallback(onFrame);
        }
      };
      video.requestVideoFrameCallback(onFrame);
      video.play().catch(() => {});
    };
  });
  view.location = await whep("/whep", pc);
  await firstFrame;
  return view.first;
};
window.closeViews = async () => {
  for (const v of window.views) { fetch(v.location, { method: "DELETE" }); v.pc.close(); }
  window.views = [];
};
window.decoded = async () => {
  let n = 0;
  for (const v of window.views) (await v.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") n += s.framesDecoded || 0; });
  return n;
};
window.talk = async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const track = mic.getAudioTracks()[0];
  track.enabled = false;
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver(track, { direction: "sendonly" });
  window.mic = track;
  await whep("/talk", pc);
  await new Promise((r) => { const c = () => pc.connectionState === "connected" ? r() : setTimeout(c, 20); c(); });
};
window.unmute = () => { window.mic.enabled = true; return Date.now(); };
window.mute = () => { window.mic.enabled = false; };
</script></body></html>"""


def bench_app(live: LiveSessions, video: CameraRef, talk: CameraRef) -> web.Application:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def offer(request: web.Request, camera: CameraRef, kind: str) -> web.Response:
        sdp = await request.text()
        if kind == "view":
            answer = await live.open_view(SYSTEM, camera, sdp)
        else:
            answer = await live.open_talk(SYSTEM, camera, sdp)
        return web.Response(
            status=201,
            text=answer.sdp,
            content_type="application/sdp",
            headers={"Location": f"/{kind}/{answer.session_id}"},
        )

    async def view(request: web.Request) -> web.Response:
        return await offer(request, video, "view")

    async def talk_(request: web.Request) -> web.Response:
        return await offer(request, talk, "talk")

    async def hang_up(request: web.Request) -> web.Response:
        try:
            await live.hang_up(SYSTEM, request.match_info["id"], kind=request.match_info["kind"])
        except SessionNotFoundError:
            return web.Response(status=404)  # the closed peer connection ended it first
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/whep", view)
    app.router.add_post("/talk", talk_)
    app.router.add_delete("/{kind}/{id}", hang_up)
    return app


def start_simulator(mode: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--cameras",
            "1",
            "--mode",
            mode,
            "--discovery-port",
            "-1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    text = ""
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator exited before printing its endpoints")
        text += line
        try:
            return proc, json.loads(text)["cameras"][0]
        except json.JSONDecodeError:
            continue


async def wait_online(manager: CameraManager, camera_id: int) -> None:
    for _ in range(200):
        if manager.state(camera_id).online:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"camera {camera_id} did not come online")


async def cpu_window(seconds: float) -> float:
    start_cpu, start = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    return (time.process_time() - start_cpu) / (time.monotonic() - start)


async def talk_latency(page: Page, sink_camera: SimulatedCamera, trials: int) -> list[float]:
    loop = asyncio.get_running_loop()
    results = []
    await page.evaluate("window.talk()")
    for _ in range(trials):
        await asyncio.sleep(1.0)  # silence flowing: the talker and the pacer are steady
        sink_camera.sink.clear()
        offset = time.time() - loop.time()  # the sink stamps arrivals on this loop's clock
        unmuted = await page.evaluate("window.unmute()") / 1000
        await asyncio.sleep(1.0)
        await page.evaluate("window.mute()")
        pcm = sink_camera.sink.pcm()
        arrivals = sink_camera.sink._arrivals  # one per 160-sample packet
        for index, arrival in enumerate(arrivals):
            chunk = pcm[index * 160 : (index + 1) * 160].astype(np.float64)
            if len(chunk) and np.sqrt(np.mean(chunk**2)) > 100:  # silence is digital zero
                results.append((arrival + offset - unmuted) * 1000)
                break
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sim, endpoint = start_simulator("live")
    manager = CameraManager(health_interval=None)
    talk_camera = SimulatedCamera(
        default_camera_config(1, main=StreamProfile("main", 640, 360, 25, 500_000, 25))
    )
    results: dict[str, Any] = {}
    runner: web.AppRunner | None = None
    live: LiveSessions | None = None
    scratch = Path(tempfile.mkdtemp())
    tone = scratch / "tone.wav"
    audit = Database(f"sqlite+aiosqlite:///{scratch / 'audit.db'}")
    await asyncio.to_thread(
        subprocess.run,
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:duration=60",
            "-ar",
            "48000",
            "-ac",
            "1",
            str(tone),
        ],
        check=True,
    )
    try:
        await migrate(audit)
        await talk_camera.start()
        await manager.add(
            CameraSpec(
                1,
                "bench 1080p",
                UNIT,
                endpoint["rtsp"]["main"],
                endpoint["username"],
                endpoint["password"],
            )
        )
        await manager.add(
            CameraSpec(
                2,
                "bench talk",
                UNIT,
                talk_camera.rtsp_url("main"),
                talk_camera.config.username,
                talk_camera.config.password,
            )
        )
        await wait_online(manager, 1)
        await wait_online(manager, 2)
        live = LiveSessions(manager, audit)
        app = bench_app(live, CameraRef(1, UNIT), CameraRef(2, UNIT))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        await asyncio.sleep(2.0)
        fps = manager.state(1).stats.fps
        results["stream"] = {
            "fps": round(fps, 1),
            "mbps": round(manager.state(1).stats.bitrate / 1e6, 2),
        }

        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    *ARGS,
                    f"--use-file-for-fake-audio-capture={tone}",
                    "--autoplay-policy=no-user-gesture-required",
                ],
            )
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/")

            # -- time to first frame and glass-to-glass --------------------------------
            firsts = []
            for _ in range(args.first_frame_trials):
                firsts.append(await page.evaluate("window.openView(true, 0)"))
                await page.evaluate("window.closeViews()")
                await asyncio.sleep(0.5)
            results["first_frame_ms"] = _summary(firsts)
            await page.evaluate(f"window.openView(true, {args.latency_samples})")
            await asyncio.sleep(args.latency_samples / 25 + 2)
            latencies = await page.evaluate("window.views[0].lat")
            await page.evaluate("window.closeViews()")
            results["glass_to_glass_ms"] = _summary(latencies)

            # -- talk latency ------------------------------------------------------------
            results["talk_ms"] = _summary(await talk_latency(page, talk_camera, args.talk_trials))
            await page.close()

            # -- CPU per viewer ----------------------------------------------------------
            await asyncio.sleep(1.0)
            cpu: dict[str, Any] = {}
            baseline = await cpu_window(args.seconds)
            cpu["ingest_only_pct"] = round(baseline * 100, 1)
            for count in args.viewers:
                viewers = await browser.new_page()
                await viewers.goto(f"http://127.0.0.1:{port}/")
                for _ in range(count):
                    await viewers.evaluate("window.openView(false, 0)")
                await asyncio.sleep(2.0)
                before = await viewers.evaluate("window.decoded()")
                used = await cpu_window(args.seconds)
                decoded = (await viewers.evaluate("window.decoded()") - before) / args.seconds
                await viewers.evaluate("window.closeViews()")
                await viewers.close()
                cpu[f"{count}_viewers"] = {
                    "total_pct": round(used * 100, 1),
                    "per_viewer_pct": round((used - baseline) * 100 / count, 2),
                    "frames_decoded_per_s_all_viewers": round(decoded, 1),
                }
                await asyncio.sleep(1.0)
            results["cpu"] = cpu
            await browser.close()
    finally:
        if live is not None:
            await live.close()
        if runner is not None:
            await runner.cleanup()
        await manager.close()
        await audit.close()
        await talk_camera.close()
        sim.terminate()
        sim.wait(10)
    return results


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_live", description=__doc__)
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU window per step")
    parser.add_argument("--first-frame-trials", type=int, default=5)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--talk-trials", type=int, default=5)
    results = asyncio.run(run(parser.parse_args(argv)))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
