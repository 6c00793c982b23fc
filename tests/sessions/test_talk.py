"""Talk-back, aiortc microphone to the simulated camera's speaker, and the talk floor."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from camera_registry import CameraManager
from core import AuditEntry, Database, PermissionDeniedError
from sessions import (
    CameraRef,
    ListenOnlyError,
    LiveSessions,
    LiveSettings,
    TalkFloorBusyError,
)
from simulator import SimulatedCamera
from tests.sessions.fixtures import CHAIR, MEDIATOR, OTHER_VILLAGE, WATCH
from tests.sessions.peers import TalkerPeer, ViewerPeer, wait_for

pytestmark = pytest.mark.slow


async def test_tone_reaches_the_speaker_as_steady_g711(
    service: LiveSessions, camera: SimulatedCamera, camera_ref: CameraRef
) -> None:
    camera.sink.clear()
    talker = TalkerPeer()
    try:
        answer = await talker.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        assert answer.audio == "PCMU"  # the browser was asked for the camera's own law
        holder = service.floor(1)
        assert holder is not None and holder.name == "hpx.watch"
        await wait_for(lambda: camera.sink.duration > 1.5, 10, "talk audio at the speaker")
        frequency = camera.sink.dominant_frequency()
        assert frequency is not None and abs(frequency - 1000) <= 20
        assert set(camera.sink.timestamp_steps()[5:].tolist()) == {160}
        intervals = camera.sink.packet_intervals()[10:]
        assert abs(float(np.median(intervals)) - 0.020) < 0.003
        assert camera.sink.payload_types == {0}
    finally:
        await talker.close()
    await wait_for(lambda: service.floor(1) is None, 5, "floor released on disconnect")


async def test_second_talker_gets_the_holder_and_a_chair_may_take_over(
    service: LiveSessions, camera_ref: CameraRef
) -> None:
    first, second, chair = TalkerPeer(), TalkerPeer(), TalkerPeer()
    try:
        one = await first.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        with pytest.raises(TalkFloorBusyError) as busy:
            await second.connect(lambda sdp: service.open_talk(MEDIATOR, camera_ref, sdp))
        assert busy.value.holder == "hpx.watch" and "hpx.watch" in busy.value.message
        with pytest.raises(PermissionDeniedError):  # an operator may not take over
            await second.connect(
                lambda sdp: service.open_talk(MEDIATOR, camera_ref, sdp, takeover=True)
            )
        taken = await chair.connect(
            lambda sdp: service.open_talk(CHAIR, camera_ref, sdp, takeover=True)
        )
        holder = service.floor(1)
        assert holder is not None and holder.session_id == taken.session_id
        assert one.session_id not in {s.session_id for s in service.sessions()}
        await service.hang_up(CHAIR, taken.session_id, kind="talk")
        assert service.floor(1) is None
    finally:
        for peer in (first, second, chair):
            await peer.close()


async def test_a_takeover_is_audited_for_both_talkers(
    service: LiveSessions, camera_ref: CameraRef, db: Database
) -> None:
    first, chair = TalkerPeer(), TalkerPeer()
    try:
        one = await first.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        taken = await chair.connect(
            lambda sdp: service.open_talk(CHAIR, camera_ref, sdp, takeover=True)
        )
        await service.hang_up(CHAIR, taken.session_id, kind="talk")
    finally:
        for peer in (first, chair):
            await peer.close()
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("live.talk.%"))
                .order_by(AuditEntry.seq)
            )
        ).all()
    entries = [(r.action, r.actor, json.loads(r.detail)) for r in rows]
    assert [(action, actor) for action, actor, _ in entries] == [
        ("live.talk.start", "user:hpx.watch"),
        ("live.talk.stop", "user:hpx.watch"),
        ("live.talk.start", "user:hpx.chair"),
        ("live.talk.stop", "user:hpx.chair"),
    ]
    assert entries[1][2]["session"] == one.session_id[:8]
    assert entries[1][2]["reason"] == "taken over by hpx.chair"
    assert "displaced" not in entries[0][2]
    assert entries[2][2]["displaced"] == "user:hpx.watch"
    assert entries[2][2]["displaced_session"] == one.session_id[:8]


async def test_village_user_cannot_talk_into_another_village(
    service: LiveSessions, camera_ref: CameraRef
) -> None:
    talker = TalkerPeer()
    try:
        with pytest.raises(PermissionDeniedError) as denied:
            await talker.connect(lambda sdp: service.open_talk(OTHER_VILLAGE, camera_ref, sdp))
        assert camera_ref.name not in denied.value.message
    finally:
        await talker.close()


async def test_camera_without_backchannel_is_listen_only_with_the_reason(
    service: LiveSessions, manager: CameraManager, camera: SimulatedCamera, camera_ref: CameraRef
) -> None:
    camera.apply_faults({"no_backchannel": True})
    before = manager.ingest(1).sessions
    camera.apply_faults({"drop": True})
    await wait_for(lambda: manager.ingest(1).sessions > before, 10, "reconnect")
    talker = TalkerPeer()
    try:
        with pytest.raises(ListenOnlyError) as listen_only:
            await talker.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        assert "551" in listen_only.value.reason or "backchannel" in listen_only.value.reason
        # Watching still works.
        viewer = ViewerPeer(audio=False)
        await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        await viewer.wait_frames(3)
        await viewer.close()
    finally:
        await talker.close()


async def test_talk_and_view_are_audited_with_duration(
    manager: CameraManager, camera_ref: CameraRef, db: Database
) -> None:
    talkers: list[tuple[int, str | None]] = []
    service = LiveSessions(
        manager,
        db,
        LiveSettings(talk_idle_seconds=1.0),
        on_talker=lambda camera_id, name: talkers.append((camera_id, name)),
    )
    talker, viewer = TalkerPeer(), ViewerPeer(audio=False)
    try:
        talk = await talker.connect(lambda sdp: service.open_talk(WATCH, camera_ref, sdp))
        view = await viewer.connect(lambda sdp: service.open_view(WATCH, camera_ref, sdp))
        await viewer.wait_frames(3)
        await service.hang_up(WATCH, view.session_id, kind="view")
        talker.track.stop()  # the microphone goes quiet: the idle timeout hangs up
        await wait_for(lambda: service.floor(1) is None, 10, "idle talk session ended")
    finally:
        await service.close()
        await talker.close()
        await viewer.close()
    async with db.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.action.like("live.%"))
                    .order_by(AuditEntry.seq)
                )
            )
            .scalars()
            .all()
        )
    # The recorder is told who talked, then that nobody does any more.
    assert talkers == [(1, "hpx.watch"), (1, None)]
    actions = [(r.action, r.actor, r.object_id, r.unit_code) for r in rows]
    assert ("live.talk.start", "user:hpx.watch", "1", camera_ref.unit_code) in actions
    assert ("live.view.start", "user:hpx.watch", "1", camera_ref.unit_code) in actions
    stops = {r.action: json.loads(r.detail) for r in rows if r.action.endswith(".stop")}
    assert stops["live.view.stop"]["reason"] == "hang-up"
    assert (
        "no audio" in stops["live.talk.stop"]["reason"]
        or "ended" in stops["live.talk.stop"]["reason"]
    )
    assert stops["live.talk.stop"]["duration_s"] > 0
    assert {talk.session_id[:8], view.session_id[:8]} <= {
        json.loads(r.detail)["session"] for r in rows
    }
