"""``kill -9`` of a served gateway in the middle of a continuous recording: started again,
it salvages the recording (every segment written before the kill kept and verifying, the
open fragment's complete part recovered), ends it as interrupted, and records again."""

from __future__ import annotations

import asyncio
import signal

import pytest

from bench.served import GstSource, ServedGateway

pytestmark = pytest.mark.slow


async def _recordings(gateway: ServedGateway) -> list[dict]:  # type: ignore[type-arg]
    return list((await gateway.call("GET", "/api/recordings"))["recordings"])


async def test_kill_9_during_recording_then_restart() -> None:
    source = GstSource(1, width=640, height=360, kbps=600)
    gateway = ServedGateway(env={"GATEWAY_RESTREAM_PORT": "0", "GATEWAY_UPLINK_SIP_PORT": "0"})
    again: ServedGateway | None = None
    try:
        await gateway.start()
        ids, _ = await gateway.register(source.urls)
        await gateway.wait_online(ids)
        room = (await gateway.cameras())[ids[0]]["room"]["id"]
        await gateway.call(
            "POST", f"/api/rooms/{room}/recording-policy", json={"mode": "continuous"}
        )
        for _ in range(900):  # segments are 60 s: wait for the first one to be committed
            recs = await _recordings(gateway)
            if recs and recs[0]["segment_count"] >= 1:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("no segment was committed")
        first = recs[0]["id"]
        before = (await gateway.call("GET", f"/api/recordings/{first}"))["segments"]
        await asyncio.sleep(5)  # into the next segment's open fragment

        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(gateway.proc.wait, 10)
        gateway.proc = None
        assert gateway.http is not None
        await gateway.http.close()
        gateway.http = None

        again = ServedGateway(
            env={"GATEWAY_RESTREAM_PORT": "0", "GATEWAY_UPLINK_SIP_PORT": "0"},
            data_dir=gateway.data_dir,
        )
        await again.start(seed=False)
        detail = await again.call("GET", f"/api/recordings/{first}")
        assert detail["state"] == "interrupted", detail["state"]
        assert [s["sha256"] for s in detail["segments"][: len(before)]] == [
            s["sha256"] for s in before
        ]
        # The fragment open at the kill is recovered up to its last complete part.
        assert len(detail["segments"]) == len(before) + 1
        assert detail["segments"][-1]["recovered"] is True
        verify = await again.call("GET", f"/api/recordings/{first}/verify")
        assert verify["ok"], verify
        for _ in range(900):  # the room's policy records again, in a new recording
            fresh = [r for r in await _recordings(again) if r["id"] != first]
            if fresh and fresh[0]["state"] == "recording":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("recording did not resume after the restart")
    finally:
        if again is not None:
            await again.close()
        await gateway.close()
        source.close()
