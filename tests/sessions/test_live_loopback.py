"""Live view, aiortc to aiortc on loopback: the camera's own H.264, not a transcode."""

from __future__ import annotations

import asyncio

import pytest

from camera_registry import CameraManager
from sessions import CameraRef, LiveSessions
from simulator import SimulatedCamera
from tests.sessions.fixtures import OTHER_VILLAGE, WATCH
from tests.sessions.peers import ViewerPeer, split_nals, wait_for

pytestmark = pytest.mark.slow


async def test_viewer_receives_the_camera_access_units_unchanged(
    service: LiveSessions, manager: CameraManager, camera_ref: CameraRef
) -> None:
    published = manager.hub(1).subscribe(("video",))
    viewer = ViewerPeer()
    try:
        answer = await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        assert "H264/90000" in answer.sdp and "VP8" not in answer.sdp
        assert answer.audio == "audio/PCMU"  # the simulator's microphone, passed through
        await viewer.wait_frames(30)
        first = viewer.frames[0]
        assert (first.width, first.height) == (640, 360)

        camera_units: set[tuple[bytes, ...]] = set()
        while (frame := published.get_nowait()) is not None:
            camera_units.add(split_nals(frame.data))
        received = viewer.access_units[5:40]
        assert received and all(unit in camera_units for unit in received[:-1])

        # The sender packed; it never opened an encoder.
        sender = next(
            t.sender
            for t in service._sessions[answer.session_id].pc.getTransceivers()
            if t.kind == "video"
        )
        encoder = sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
        assert type(encoder).__name__ == "H264Encoder" and encoder.codec is None

        await wait_for(lambda: len(viewer.audio_frames) > 10, 5, "camera audio")
        assert viewer.audio_frames[0].sample_rate == 8000
    finally:
        published.close()
        await viewer.close()


async def test_new_viewer_starts_from_the_cached_gop_at_once(
    service: LiveSessions, manager: CameraManager, camera_ref: CameraRef
) -> None:
    await wait_for(lambda: manager.hub(1).stats().gop_frames > 10, 5, "a cached GOP")
    viewer = ViewerPeer(audio=False)
    try:
        answer = await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(viewer.first_frame.wait(), 5)
        track = service.tracks(answer.session_id)[0]
        assert track.stats.skipped == 0  # started at the cached keyframe, nothing thrown away
        assert asyncio.get_running_loop().time() - started < 2.0
    finally:
        await viewer.close()


async def test_viewer_survives_a_camera_reconnect(
    service: LiveSessions, manager: CameraManager, camera: SimulatedCamera, camera_ref: CameraRef
) -> None:
    viewer = ViewerPeer(audio=False)
    try:
        await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        await viewer.wait_frames(10)
        sessions_before = manager.ingest(1).sessions
        camera.apply_faults({"drop": True})
        await wait_for(lambda: manager.ingest(1).sessions > sessions_before, 10, "reconnect")
        count = len(viewer.frames)
        await viewer.wait_frames(count + 25)
        assert len(service.sessions()) == 1 and viewer.pc.connectionState == "connected"
        assert viewer.frames[-1].width == 640
    finally:
        await viewer.close()


async def test_scope_and_hang_up(service: LiveSessions, camera_ref: CameraRef) -> None:
    viewer = ViewerPeer(audio=False)
    try:
        from core import PermissionDeniedError

        with pytest.raises(PermissionDeniedError) as denied:
            await viewer.connect(lambda sdp: service.open_view(OTHER_VILLAGE, camera_ref, sdp))
        assert camera_ref.name not in denied.value.message
        assert service.sessions() == []
    finally:
        await viewer.close()
    viewer = ViewerPeer(audio=False)
    try:
        answer = await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        await viewer.wait_frames(3)
        track = service.tracks(answer.session_id)[0]
        await service.hang_up(WATCH, answer.session_id, kind="view")
        assert service.sessions() == [] and track.readyState == "ended"
        assert manager_subscribers(service, camera_ref) == 0
    finally:
        await viewer.close()


def manager_subscribers(service: LiveSessions, camera_ref: CameraRef) -> int:
    return service._source.hub(camera_ref.camera_id).stats().subscribers  # type: ignore[attr-defined]
