"""Hostile cameras: whatever a camera sends, the gateway's memory stays bounded and the
camera is online only while pictures decode.

The "camera" is a small asyncio RTSP server written here: it answers the handshake
like a camera, then after PLAY sends what an attacker (or a broken firmware) would —
one access unit that never ends, or random ``$`` frames.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from camera_registry._ingest import CameraIngest, IngestEvent, stall_reason
from camera_registry._stats import IngestStats
from media import (
    RtspRequest,
    RtspStreamDecoder,
    build_rtp,
    encode_interleaved,
    encode_response,
)

# libx264's parameter sets for 64x64 (tests.media.h264_streams.encode_clip): real ones, so
# that only the slices a camera sends decide whether a picture decodes
SPS = bytes.fromhex("6742c00ada109a1000000300100000030328f1226a")
PPS = bytes.fromhex("68ce0fc8")
Behaviour = Callable[[asyncio.StreamWriter], Awaitable[None]]


class HostileCamera:
    """RTSP handshake like a camera, then ``behaviour(writer)`` on interleaved channel 0."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.port = 0
        self.sent = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    async def start(self) -> HostileCamera:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        decoder = RtspStreamDecoder()
        try:
            while data := await reader.read(65536):
                for item in decoder.feed(data):
                    if isinstance(item, RtspRequest) and self._answer(item, writer):
                        self._tasks.add(asyncio.create_task(self._play(writer)))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    def _answer(self, req: RtspRequest, writer: asyncio.StreamWriter) -> bool:
        headers = [("CSeq", req.header("CSeq") or "0")]
        body = b""
        if req.method == "DESCRIBE":
            sprop = f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}"
            headers += [("Content-Type", "application/sdp"), ("Content-Base", self.url + "/")]
            body = (
                "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hostile\r\nt=0 0\r\n"
                "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\n"
                "a=control:track1\r\n"
            ).encode()
        elif req.method == "SETUP":
            headers += [
                ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"),
                ("Session", "4242;timeout=60"),
            ]
        elif req.method in ("PLAY", "GET_PARAMETER", "TEARDOWN"):
            headers.append(("Session", "4242"))
        writer.write(encode_response(200, "OK", headers, body))
        return req.method == "PLAY"

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        try:
            await self.behaviour(writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)


def endless_access_unit(total: int, sent: list[int]) -> Behaviour:
    """FU-A fragments of one IDR, one timestamp, never an end fragment nor a marker."""

    async def behaviour(writer: asyncio.StreamWriter) -> None:
        body = os.urandom(1400)
        seq = 0
        first = True
        while True:
            chunk = []
            for _ in range(256 if sent[0] < total else 1):
                header = 0x85 if first else 0x05  # start bit on the very first fragment
                first = False
                payload = bytes((0x7C, header)) + body
                chunk.append(encode_interleaved(0, build_rtp(96, seq, 1234, 0xCAFE, payload)))
                seq = (seq + 1) & 0xFFFF
            data = b"".join(chunk)
            writer.write(data)
            sent[0] += len(data)
            await writer.drain()
            if sent[0] >= total:  # the flood is over; the access unit still never ends
                await asyncio.sleep(0.05)

    return behaviour


def random_dollar_frames(sent: list[int]) -> Behaviour:
    """Random ``$`` frames on the video channel, forever (some parse as RTP, none decode)."""

    async def behaviour(writer: asyncio.StreamWriter) -> None:
        rng = random.Random(13)
        while True:
            frames = [
                encode_interleaved(0, rng.randbytes(rng.randint(12, 1400))) for _ in range(50)
            ]
            data = b"".join(frames)
            writer.write(data)
            sent[0] += len(data)
            await writer.drain()
            await asyncio.sleep(0.02)

    return behaviour


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def _until(predicate: Callable[[], bool], limit: float = 60.0) -> None:
    for _ in range(int(limit / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached within {limit} s")


@contextlib.asynccontextmanager
async def _ingest_of(
    behaviour: Behaviour, events: list[IngestEvent], stall_timeout: float = 2.0
) -> AsyncIterator[CameraIngest]:
    camera = await HostileCamera(behaviour).start()
    ingest = CameraIngest(
        "hostile",
        camera.url,
        on_event=events.append,
        stall_timeout=stall_timeout,
        backoff=(300.0,),
    )
    try:
        await ingest.start()
        yield ingest
    finally:
        await ingest.close()
        await camera.close()


@pytest.mark.slow
async def test_an_access_unit_that_never_ends_costs_bounded_memory_and_shows_stalled() -> None:
    total = 96 * 1024 * 1024
    sent = [0]
    events: list[IngestEvent] = []
    before = _rss()
    peak = before
    # the stall timeout leaves the flood time to pass through one session on a busy machine
    async with _ingest_of(endless_access_unit(total, sent), events, 20.0) as ingest:
        while sent[0] < total and not events:
            peak = max(peak, _rss())
            await asyncio.sleep(0.05)
        await _until(lambda: bool(events) and "stalled" in events[-1].reason)
        peak = max(peak, _rss())
        stats = ingest.stats()
    # 96 MiB of one access unit arrived; what the gateway holds stays near the 8 MiB bound
    # (plus socket and allocator slack), where the unbounded depacketizer grew by all of it.
    assert peak - before < 40 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MiB"
    assert stats.oversized_frames == 1 and stats.sessions == 1
    assert stats.packets * 1416 > 64 * 1024 * 1024  # most of the flood went through
    assert not any(e.online for e in events), [e.reason for e in events]
    assert events[-1].reason.startswith("stalled: no decodable picture for")
    assert "1 access units over the size bound" in events[-1].reason


@pytest.mark.slow
async def test_random_dollar_frames_are_not_online() -> None:
    sent = [0]
    events: list[IngestEvent] = []
    async with _ingest_of(random_dollar_frames(sent), events) as ingest:
        await _until(lambda: bool(events) and "stalled" in events[-1].reason)
        stats = ingest.stats()
    assert sent[0] > 100_000 and stats.packets + stats.malformed > 100
    assert not any(e.online for e in events), [e.reason for e in events]
    assert "although the camera sends data" in events[-1].reason


def test_stall_reason_tells_silence_from_undecodable_data() -> None:
    assert stall_reason(10.4, 10.4, IngestStats()) == "stalled: no media for 10 s"
    busy = IngestStats(packets=900, broken_frames=5, oversized_frames=2, malformed=7)
    assert stall_reason(10.0, 0.1, busy) == (
        "stalled: no decodable picture for 10 s although the camera sends data "
        "(2 access units over the size bound, 3 broken access units, "
        "7 packets that are not RTP)"
    )
    assert stall_reason(10.0, 0.1, IngestStats(packets=5)).endswith("(no access unit ever ends)")
