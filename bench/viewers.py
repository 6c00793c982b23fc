"""WHEP viewers for load benchmarks: real WebRTC sessions that count whole frames.

Each viewer is an aiortc peer connection negotiating with the served gateway's
``POST /api/cameras/{id}/whep``: ICE, DTLS, SRTP, RTP reassembly in aiortc's jitter buffer
— everything a browser's network stack does.  It does not decode: aiortc decodes every
received frame in a worker thread, and sixteen 1080p decodes in the load generator would
starve the gateway it measures on a 2-core box.  The decoder is replaced by one that
counts the complete encoded frames handed to it (what a browser would decode).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from typing import Any

import aiortc.rtcrtpreceiver as receiver_module
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.served import ServedGateway

_lock = threading.Lock()
_frames = 0


class _CountingDecoder:
    """Counts the video frames aiortc assembled; audio is neither counted nor decoded."""

    def __init__(self, video: bool) -> None:
        self.video = video

    def decode(self, encoded_frame: Any) -> list[Any]:
        global _frames
        if self.video:
            with _lock:
                _frames += 1
        return []


def _counting_decoder(codec: Any) -> _CountingDecoder:
    return _CountingDecoder(str(codec.mimeType).lower().startswith("video/"))


class WhepViewers:
    def __init__(self, gateway: ServedGateway) -> None:
        self.gateway = gateway
        self.peers: list[RTCPeerConnection] = []
        self.locations: list[str] = []
        receiver_module.get_decoder = _counting_decoder  # type: ignore[assignment]

    @staticmethod
    def frames() -> int:
        with _lock:
            return _frames

    async def open(self, camera_ids: Sequence[int]) -> None:
        for camera_id in camera_ids:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            assert self.gateway.http is not None
            async with self.gateway.http.post(
                f"/api/cameras/{camera_id}/whep",
                data=pc.localDescription.sdp,
                headers={"Content-Type": "application/sdp", "X-CSRF-Token": self.gateway.csrf},
            ) as response:
                answer = await response.text()
                if response.status != 201:
                    raise RuntimeError(f"WHEP for camera {camera_id}: {response.status} {answer}")
                self.locations.append(response.headers["Location"])
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            self.peers.append(pc)

    async def close(self) -> None:
        assert self.gateway.http is not None
        for location in self.locations:
            with contextlib.suppress(Exception):
                async with self.gateway.http.delete(
                    location, headers={"X-CSRF-Token": self.gateway.csrf}
                ):
                    pass
        await asyncio.gather(*(pc.close() for pc in self.peers), return_exceptions=True)
