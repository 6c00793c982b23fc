"""The simulated platform's voice broadcast (语音广播): after the device's INVITE for the
audio is answered and ACKed, a tone goes to the device's ``c=``/``m=`` address as G.711
A-law in RTP (PT 8, 20 ms packets), as wvp/ZLMediaKit send it — over UDP, or over TCP
(RFC 4571) where the device listens (it offered ``a=setup:passive``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct

import numpy as np

from ._g711 import alaw_encode

__all__ = ["ToneSender", "tone_pcm"]


def tone_pcm(seconds: float, frequency: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (np.sin(2 * np.pi * frequency * t) * 12000).astype(np.int16)


class ToneSender:
    """Sends ``seconds`` of a tone to ``(host, port)`` at the real-time pace."""

    def __init__(self, host: str, port: int, *, tcp: bool, seconds: float, frequency: float,
                 ssrc: int | None = None) -> None:  # fmt: skip
        self.host, self.port, self.tcp = host, port, tcp
        self.audio = alaw_encode(tone_pcm(seconds, frequency))
        self.ssrc = ssrc if ssrc is not None else int.from_bytes(os.urandom(4), "big")
        self.sent = 0
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def _packets(self) -> list[bytes]:
        out = []
        for i in range(len(self.audio) // 160):
            header = struct.pack("!BBHII", 0x80, 8, (1000 + i) & 0xFFFF, 160 * i, self.ssrc)
            out.append(header + self.audio[i * 160 : (i + 1) * 160])
        return out

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        writer: asyncio.StreamWriter | None = None
        udp: asyncio.DatagramTransport | None = None
        try:
            if self.tcp:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            else:
                udp, _ = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, remote_addr=(self.host, self.port)
                )
            start = loop.time()
            for i, packet in enumerate(self._packets()):
                if writer is not None:
                    writer.write(struct.pack("!H", len(packet)) + packet)
                    await writer.drain()
                elif udp is not None:
                    udp.sendto(packet)
                self.sent += 1
                await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
        except (ConnectionError, OSError):
            pass
        finally:
            if writer is not None:
                writer.close()
            if udp is not None:
                udp.close()
            self.done.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
