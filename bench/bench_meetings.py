"""The meeting room's media cost against participants, with ffmpeg's xstack as the baseline.

Run from the repository root::

    .venv/bin/python -m bench.bench_meetings [--participants 5 10 20] [--seconds 10]

For each participant count N, on the same N distinct 640×360 15 fps H.264 inputs
(``testsrc2`` with a different hue each, encoded once beforehand, not measured):

- **room**: what the MCU does per site and per picture, in this process — decode every
  input (PyAV, as aiortc's receivers do), compose the grid with the sites' names
  (:class:`meetings._compose.Composer`), encode it **once** at 1280×720 15 fps with the
  room's libx264 settings, and packetize the encoded pictures for each of the N
  participants (aiortc's ``H264Encoder.pack``, as every participant's sender does);
- **ffmpeg**: ``ffmpeg -filter_complex xstack`` composing the same inputs into one
  1280×720 15 fps stream with libx264 ultrafast (``-f null``): the usual way to build a
  composite, without names, packetizing or anything per participant.

Both run as fast as they can over the same media; the figure is CPU seconds per second
of media, i.e. the cores needed in real time (process CPU incl. threads for the room,
``RUSAGE_CHILDREN`` for ffmpeg).  The encode's own time per picture is reported too: it
must not grow with N.  Not measured here: SRTP and the network (per participant, as for
live view; see bench_live), and the audio mix (a few Opus encodes per 20 ms).
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc.codecs.h264 import H264Encoder

from meetings._compose import Composer, CompositeEncoder, TileContent
from meetings._layout import Layout, compute_layout

WIDTH, HEIGHT, FPS = 1280, 720, 15


def make_inputs(directory: Path, count: int, seconds: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = directory / f"site{i:02d}_{seconds}s.h264"
        if not path.exists():
            subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    f"testsrc2=size=640x360:rate={FPS},hue=h={i * 360 / count}",
                    "-t",
                    str(seconds),
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-tune",
                    "zerolatency",
                    "-g",
                    str(FPS * 2),
                    "-bf",
                    "0",
                    str(path),
                ],
                check=True,
            )
        paths.append(path)
    return paths


def read_packets(path: Path) -> list[bytes]:
    with av.open(str(path), format="h264") as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def run_room(inputs: list[list[bytes]], frames: int) -> dict[str, float]:
    count = len(inputs)
    ids = [f"s{i}" for i in range(count)]
    tiles = compute_layout(Layout.GRID, ids, focus=None, width=WIDTH, height=HEIGHT)
    composer = Composer(WIDTH, HEIGHT)
    encoder = CompositeEncoder(WIDTH, HEIGHT, fps=FPS)
    decoders = [av.CodecContext.create("h264", "r") for _ in range(count)]
    packers = [H264Encoder() for _ in range(count)]
    latest: dict[str, Any] = {}
    encode_seconds = 0.0
    started_cpu, started = time.process_time(), time.perf_counter()
    for n in range(frames):
        for i, decoder in enumerate(decoders):
            for frame in decoder.decode(av.Packet(inputs[i][n % len(inputs[i])])):
                latest[ids[i]] = frame
        contents = {pid: TileContent(latest.get(pid), f"村{pid[1:]}") for pid in ids}
        picture = composer.compose(tiles, contents, speaker=ids[0])
        t0 = time.process_time()
        encoded = encoder.encode(picture, n * 6000, keyframe=n == 0)
        encode_seconds += time.process_time() - t0
        for out in encoded:
            packet = av.Packet(out.data)
            packet.pts = out.pts
            packet.time_base = Fraction(1, 90_000)
            for packer in packers:
                packer.pack(packet)
    cpu = time.process_time() - started_cpu
    media = frames / FPS
    return {
        "cores": cpu / media,
        "encode_ms": 1000 * encode_seconds / frames,
        "wall_x": media / (time.perf_counter() - started),
    }


def run_ffmpeg(paths: list[Path], seconds: int) -> dict[str, float]:
    count = len(paths)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile_w, tile_h = (WIDTH // columns) & ~1, (HEIGHT // rows) & ~1
    scaled = ";".join(f"[{i}:v]scale={tile_w}:{tile_h}[v{i}]" for i in range(count))
    layout = "|".join(f"{(i % columns) * tile_w}_{(i // columns) * tile_h}" for i in range(count))
    graph = (
        f"{scaled};{''.join(f'[v{i}]' for i in range(count))}xstack=inputs={count}:"
        f"layout={layout}:fill=black,pad={WIDTH}:{HEIGHT},fps={FPS}[out]"
    )
    command = ["ffmpeg", "-v", "error", "-y"]
    for path in paths:
        command += ["-f", "h264", "-r", str(FPS), "-i", str(path)]
    command += [
        "-filter_complex",
        graph,
        "-map",
        "[out]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-t",
        str(seconds),
        "-f",
        "null",
        "-",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cores": cpu / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    directory = Path(tempfile.gettempdir()) / "zz-bench-meetings"
    directory.mkdir(exist_ok=True)
    paths = make_inputs(directory, max(args.participants), args.seconds)
    packets = [read_packets(p) for p in paths]
    frames = args.seconds * FPS
    print(
        f"{'sites':>5} {'room cores':>11} {'ffmpeg cores':>13} {'room/ffmpeg':>12} {'encode ms/picture':>18}"
    )
    for count in args.participants:
        room = run_room(packets[:count], frames)
        baseline = run_ffmpeg(paths[:count], args.seconds)
        print(
            f"{count:>5} {room['cores']:>11.2f} {baseline['cores']:>13.2f} "
            f"{room['cores'] / baseline['cores']:>12.2f} {room['encode_ms']:>18.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
