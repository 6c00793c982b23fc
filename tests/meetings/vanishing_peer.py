"""A participant in a process of its own, so that a test can kill it without a goodbye.

Prints its SDP offer (one line, JSON-encoded), reads the answer the same way, then keeps
the connection up (sending RTCP for what it receives) until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription


async def main() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    print(json.dumps(pc.localDescription.sdp), flush=True)
    answer = json.loads(await asyncio.to_thread(sys.stdin.readline))
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    while True:
        await video.receiver.track.recv()  # decode what comes, like a browser would


if __name__ == "__main__":
    asyncio.run(main())
