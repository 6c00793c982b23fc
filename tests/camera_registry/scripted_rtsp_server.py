"""Test-only RTSP server with scripted misbehaviour (not the simulator).

It answers OPTIONS/DESCRIBE/SETUP/PLAY/GET_PARAMETER/TEARDOWN like a small camera and
then plays a list of H.264 RTP packets over interleaved channel 0, or misbehaves:
``silent`` (never answers), ``garbage`` (answers junk), ``stall`` (PLAYs, sends no
media), ``drop`` (closes the connection after some packets), ``reboot`` (the SSRC and
sequence change half-way, as after a camera reboot).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib

from media import (
    RtspRequest,
    RtspStreamDecoder,
    build_rtp,
    encode_interleaved,
    encode_response,
    parse_rtp,
)


class ScriptedRtspServer:
    def __init__(
        self,
        packets: list[bytes],
        *,
        mode: str = "media",
        sps: bytes = b"",
        pps: bytes = b"",
        frame_interval: float = 0.02,
        pauses: dict[int, float] | None = None,
    ) -> None:
        self.packets = packets
        self.mode = mode
        self.frame_interval = frame_interval
        self.pauses = pauses or {}  # access unit index → seconds of silence before it
        self.sps, self.pps = sps, pps
        self.port = 0
        self.requests: list[RtspRequest] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    async def start(self) -> ScriptedRtspServer:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _sdp(self) -> bytes:
        sprop = f"{base64.b64encode(self.sps).decode()},{base64.b64encode(self.pps).decode()}"
        return (
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=scripted\r\nt=0 0\r\n"
            "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
            f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\n"
            "a=control:track1\r\n"
        ).encode()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        decoder = RtspStreamDecoder()
        try:
            while data := await reader.read(65536):
                for item in decoder.feed(data):
                    if isinstance(item, RtspRequest):
                        await self._answer(item, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, req: RtspRequest, writer: asyncio.StreamWriter) -> None:
        self.requests.append(req)
        if self.mode == "silent":
            return
        if self.mode == "garbage":
            writer.write(b"\x00\x13\x37 this is no RTSP\r\n\r\n")
            return
        headers = [("CSeq", req.header("CSeq") or "0")]
        body = b""
        if req.method == "OPTIONS":
            headers.append(("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"))
        elif req.method == "DESCRIBE":
            if req.header("Require"):
                writer.write(encode_response(551, "Option not supported", headers))
                return
            headers += [("Content-Type", "application/sdp"), ("Content-Base", self.url + "/")]
            body = self._sdp()
        elif req.method == "SETUP":
            headers += [
                ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"),
                ("Session", "4242;timeout=60"),
            ]
        elif req.method == "PLAY":
            headers.append(("Session", "4242"))
            writer.write(encode_response(200, "OK", headers))
            if self.mode != "stall":
                self._tasks.add(asyncio.create_task(self._play(writer)))
            return
        writer.write(encode_response(200, "OK", headers, body))

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        try:
            # frames go out on a schedule (frame k at start + k × interval + the pauses
            # before it), so a late wake-up under load does not push every later frame
            # behind the camera's timing
            loop = asyncio.get_running_loop()
            start = loop.time()
            frame = 0
            for i, pkt in enumerate(self.packets):
                if frame in self.pauses:
                    await writer.drain()
                    pause = self.pauses.pop(frame)
                    start += pause
                    await asyncio.sleep(max(0.0, start + frame * self.frame_interval - loop.time()))
                if self.mode == "drop" and i == len(self.packets) // 2:
                    writer.transport.abort()
                    return
                if self.mode == "reboot" and i >= len(self.packets) // 2:
                    p = parse_rtp(pkt)
                    pkt = build_rtp(
                        p.payload_type,
                        p.sequence + 20000,
                        p.timestamp + 777,
                        0xBADC0DE,
                        p.payload,
                        marker=p.marker,
                    )
                writer.write(encode_interleaved(0, pkt))
                if parse_rtp(pkt).marker:
                    frame += 1
                    await writer.drain()
                    await asyncio.sleep(max(0.0, start + frame * self.frame_interval - loop.time()))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
