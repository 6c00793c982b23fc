"""CPU per camera forwarded to a GB/T 28181 platform, against FFmpeg, and SIP transactions
per second.

Run from the repository root::

    .venv/bin/python -m bench.bench_uplink --gst 1 10 20 40
    .venv/bin/python -m bench.bench_uplink --sip 2000

For every camera count N, in the same run and on the same GStreamer RTSP source
(1080p25 ~4 Mbit/s H.264 + G.711, every camera its own RTSP session):

- FFmpeg (the nearest tool baseline): N × ``ffmpeg -rtsp_transport tcp -i URL -map 0:v
  -c copy -f mpeg udp://127.0.0.1:PORT`` — ingest and remux to MPEG-PS on a UDP socket
  (video only: FFmpeg's PS muxer refuses G.711, which ours carries); CPU from
  ``/proc/<pid>/stat`` over the window;
- ours: N × (:class:`CameraIngest` → hub → the uplink's live pump: PS mux, RTP PT 96
  packetizing, UDP send) in this process, the product's code path without the SIP
  signalling; CPU from ``time.process_time()`` over the same window.

A separate receiver process counts what arrives: RTP packets, sequence gaps and whole
frames (markers), so "every frame delivered" is measured, not assumed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import struct
import subprocess
import sys
import time

from bench.bench_ingest import _proc_cpu, start_gst
from camera_registry._ingest import CameraIngest
from camera_registry._substream import HubLease


def _receiver(ports: list[int]) -> None:
    """Child process: count RTP packets, gaps and frames per port until SIGTERM."""

    class Counter(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.packets = self.gaps = self.frames = 0
            self.last: int | None = None

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if len(data) < 12:
                return
            seq = struct.unpack("!H", data[2:4])[0]
            if self.last is not None and (self.last + 1) & 0xFFFF != seq:
                self.gaps += 1
            self.last = seq
            self.packets += 1
            if data[1] & 0x80:
                self.frames += 1

    async def run() -> None:
        loop = asyncio.get_running_loop()
        counters = []
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.bind(("127.0.0.1", port))
            counter = Counter()
            await loop.create_datagram_endpoint(lambda c=counter: c, sock=sock)
            counters.append(counter)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        print("READY", flush=True)
        await stop.wait()
        print(json.dumps([[c.packets, c.gaps, c.frames] for c in counters]), flush=True)

    asyncio.run(run())


def _ports(n: int) -> list[int]:
    out = []
    for _ in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            out.append(int(s.getsockname()[1]))
    return out


def start_receiver(ports: list[int]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_uplink", "--receive", *map(str, ports)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().startswith("READY")
    return proc


def stop_receiver(proc: subprocess.Popen[str]) -> list[list[int]]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return list(json.loads(out.strip().splitlines()[-1]))


def run_ffmpeg(urls: list[str], warmup: float, seconds: float) -> tuple[float, list[list[int]]]:
    ports = _ports(len(urls))
    receiver = start_receiver(ports)
    procs = []
    try:
        for url, port in zip(urls, ports, strict=True):
            time.sleep(0.1)  # GStreamer's server stalls on dozens of simultaneous DESCRIBEs
            procs.append(subprocess.Popen(
                ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                 "-map", "0:v", "-c", "copy", "-f", "mpeg",
                 f"udp://127.0.0.1:{port}?pkt_size=1316"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        time.sleep(warmup)
        start = sum(_proc_cpu(p.pid) for p in procs)
        time.sleep(seconds)
        cpu = sum(_proc_cpu(p.pid) for p in procs) - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    return cpu, stop_receiver(receiver)


class _Counter:
    frames = 0
    subscription = None


async def run_ours(
    urls: list[str], warmup: float, seconds: float
) -> tuple[float, int, list[list[int]]]:
    from uplink._live import pump
    from uplink._media_out import open_sink
    from uplink._offer import MediaOffer

    ports = _ports(len(urls))
    receiver = await asyncio.to_thread(start_receiver, ports)
    ingests = [CameraIngest(f"bench-{i}", url, backchannel=False) for i, url in enumerate(urls)]
    counters = [_Counter() for _ in urls]
    tasks = []
    sinks = []
    try:
        for index, (ingest, port) in enumerate(zip(ingests, ports, strict=True)):
            await ingest.start()
            offer = MediaOffer("Play", "x", "127.0.0.1", port, "udp", f"{100000000 + index:010d}")
            sink = await open_sink(offer, "127.0.0.1")
            await sink.start()
            sinks.append(sink)
            lease = HubLease(ingest.hub, "main")
            tasks.append(asyncio.create_task(pump(lease, sink, offer.ssrc_value, counters[index])))
        await asyncio.sleep(warmup)
        frames0 = sum(c.frames for c in counters)
        cpu0 = time.process_time()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        frames = sum(c.frames for c in counters) - frames0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sink in sinks:
            await sink.close()
        for ingest in ingests:
            await ingest.close()
            ingest.hub.close()
    return cpu, frames, await asyncio.to_thread(stop_receiver, receiver)


async def sip_rate(count: int, concurrency: int = 50) -> float:
    """OPTIONS transactions per second between two endpoints on loopback (UDP)."""
    from media import SipRequest, Via, new_call_id, response_to
    from uplink import Peer, SipEndpoint

    server: SipEndpoint

    async def answer(request: SipRequest, peer: Peer) -> None:
        await server.respond(request, response_to(request, 200), peer)

    async def nothing(request: SipRequest, peer: Peer) -> None:
        return None

    server = SipEndpoint("127.0.0.1", 0, answer)
    client = SipEndpoint("127.0.0.1", 0, nothing)
    await server.start()
    await client.start()
    peer = Peer("UDP", "127.0.0.1", server.port)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            request = SipRequest("OPTIONS", f"sip:x@127.0.0.1:{server.port}", (
                ("Via", Via.create("UDP", "127.0.0.1", client.port).encode()),
                ("From", "<sip:a@b>;tag=1"), ("To", "<sip:x@127.0.0.1>"),
                ("Call-ID", new_call_id()), ("CSeq", f"{i + 1} OPTIONS"),
            ))  # fmt: skip
            response = await client.request(request, peer)
            assert response.status == 200

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    await client.close()
    await server.close()
    return count / elapsed


def _loss(counts: list[list[int]], *, rtp: bool = True) -> str:
    packets = sum(c[0] for c in counts)
    if not rtp:  # FFmpeg sends raw PS datagrams: no sequence numbers to check
        return f"{packets} dgrams"
    gaps = sum(c[1] for c in counts)
    return f"{packets} pkts, {gaps} gaps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gst", nargs="+", type=int, metavar="N", help="camera counts")
    parser.add_argument("--sip", type=int, metavar="COUNT", help="SIP transactions to run")
    parser.add_argument("--receive", nargs="+", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--bitrate", type=int, default=4000, help="kbit/s")
    args = parser.parse_args()
    if args.receive:
        _receiver(args.receive)
        return
    if args.sip:
        rate = asyncio.run(sip_rate(args.sip))
        print(f"SIP OPTIONS transactions over UDP on loopback: {rate:.0f}/s ({args.sip} sent)")
    if not args.gst:
        return
    width, height = (int(v) for v in args.size.split("x"))
    server, url = start_gst(width, height, args.bitrate)
    try:
        print(f"{'cams':>4} {'ffmpeg %CPU/cam':>16} {'ours %CPU/cam':>14} {'ratio':>6} "
              f"{'fps/cam sent':>13} {'ffmpeg recv':>22} {'ours recv':>22}")  # fmt: skip
        for n in args.gst:
            urls = [url] * n
            ff, ff_recv = run_ffmpeg(urls, args.warmup, args.seconds)
            ours, frames, our_recv = asyncio.run(run_ours(urls, args.warmup, args.seconds))
            ff_pct = 100 * ff / args.seconds / n
            our_pct = 100 * ours / args.seconds / n
            ratio = our_pct / ff_pct if ff_pct else float("inf")
            fps = frames / args.seconds / n
            print(f"{n:>4} {ff_pct:>16.2f} {our_pct:>14.2f} {ratio:>6.2f} {fps:>13.1f} "
                  f"{_loss(ff_recv, rtp=False):>22} {_loss(our_recv):>22}", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
