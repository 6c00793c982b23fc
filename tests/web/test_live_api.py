"""The live API over HTTP: WHEP view, talk floor, scope — real app, real peers, real camera."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from camera_registry import CameraManager, CameraSpec
from core import AuditEntry, Settings
from gateway import create_app
from sessions import LiveSessions, SessionAnswer
from simulator import SimulatedCamera
from tests.helpers import login
from tests.sessions.fixtures import VILLAGE, camera
from tests.sessions.peers import TalkerPeer, ViewerPeer, wait_for
from web import CAMERAS, DB, LIVE

__all__ = ["camera"]

pytestmark = pytest.mark.slow


def live_app(settings: Settings, camera: SimulatedCamera) -> web.Application:
    """The gateway app with the simulated camera running in its camera manager."""
    app = create_app(settings)
    own_manager = CAMERAS not in app
    if own_manager:
        app[CAMERAS] = CameraManager(health_interval=None, backoff=(0.2, 0.5, 1.0))
    if LIVE not in app:
        app[LIVE] = LiveSessions(app[CAMERAS], app[DB])

    async def run_camera(app: web.Application) -> AsyncIterator[None]:
        spec = CameraSpec(
            camera_id=1,
            name=camera.config.name,
            unit_code=VILLAGE,
            rtsp_url=camera.rtsp_url("main"),
            username=camera.config.username,
            password=camera.config.password,
        )
        await app[CAMERAS].add(spec)
        await wait_for(lambda: app[CAMERAS].state(1).online, 10, "camera online")
        yield
        await app[LIVE].close()
        if own_manager:
            await app[CAMERAS].close()

    app.cleanup_ctx.append(run_camera)
    return app


@pytest.fixture
async def live(app_settings: Settings, aiohttp_client, camera: SimulatedCamera) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(live_app(app_settings, camera))


def answerer(client: TestClient, csrf: str, path: str, responses: list[object]):  # type: ignore[no-untyped-def]
    async def post(offer: str) -> SessionAnswer:
        response = await client.post(
            path, data=offer, headers={"Content-Type": "application/sdp", "X-CSRF-Token": csrf}
        )
        responses.append(response)
        assert response.status == 201, await response.text()
        assert response.content_type == "application/sdp"
        location = response.headers["Location"]
        return SessionAnswer(location.rsplit("/", 1)[1], await response.text())

    return post


async def test_whep_view_then_delete_is_audited(live: TestClient) -> None:
    csrf = await login(live, "hpx.watch")
    viewer = ViewerPeer(audio=False)
    responses: list[object] = []
    try:
        answer = await viewer.connect(answerer(live, csrf, "/api/cameras/1/whep", responses))
        await viewer.wait_frames(5)
        assert (viewer.frames[0].width, viewer.frames[0].height) == (640, 360)
        location = responses[0].headers["Location"]  # type: ignore[attr-defined]
        assert location == f"/api/cameras/1/whep/{answer.session_id}"
        wall = await (await live.get("/api/live/cameras")).json()
        assert wall["cameras"][0]["viewers"] == 1 and wall["cameras"][0]["online"]
        gone = await live.delete(location, headers={"X-CSRF-Token": csrf})
        assert gone.status == 204
        again = await live.delete(location, headers={"X-CSRF-Token": csrf})
        assert again.status == 404
    finally:
        await viewer.close()
    async with live.app[DB].transaction() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("live.view.%"))
            )
        ).all()
    assert actions == ["live.view.start", "live.view.stop"]


async def test_village_user_cannot_open_another_villages_camera(
    live: TestClient, camera: SimulatedCamera
) -> None:
    csrf = await login(live, "nmq.watch")  # 楠木桥村; the camera is in 和平溪村
    viewer = ViewerPeer(audio=False)
    try:
        offer = await viewer.pc.createOffer()
        await viewer.pc.setLocalDescription(offer)
        for path in ("/api/cameras/1/whep", "/api/cameras/1/talk"):
            response = await live.post(
                path,
                data=viewer.pc.localDescription.sdp,
                headers={"Content-Type": "application/sdp", "X-CSRF-Token": csrf},
            )
            assert response.status == 403
            body = await response.text()
            assert camera.config.name not in body and VILLAGE not in body
        floor = await live.get("/api/cameras/1/talk")
        assert floor.status == 403
        wall = await (await live.get("/api/live/cameras")).json()
        assert wall == {"cameras": []}
        assert live.app[LIVE].sessions() == []
    finally:
        await viewer.close()


async def test_second_talker_gets_409_with_who_holds_the_floor(live: TestClient) -> None:
    watch = await login(live, "hpx.watch")
    first = TalkerPeer()
    try:
        answer = await first.connect(answerer(live, watch, "/api/cameras/1/talk", []))
        floor = await (await live.get("/api/cameras/1/talk")).json()
        assert floor["talking"] == "和平溪乡值班员" and floor["talking_mine"] and floor["talk"]

        live.session.cookie_jar.clear()  # the same client now signs in as someone else
        mediator = await login(live, "hpx.mediator")
        second = TalkerPeer()
        offer = await second.pc.createOffer()
        await second.pc.setLocalDescription(offer)
        busy = await live.post(
            "/api/cameras/1/talk",
            data=second.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", "X-CSRF-Token": mediator},
        )
        await second.close()
        assert busy.status == 409
        problem = await busy.json()
        assert problem["error"] == "talk_floor_busy" and "hpx.watch" in problem["message"]
        floor = await (await live.get("/api/cameras/1/talk")).json()
        assert floor["talking"] == "和平溪乡值班员" and not floor["talking_mine"]
        assert not floor["can_take_over"]

        live.session.cookie_jar.clear()
        watch = await login(live, "hpx.watch")
        hung_up = await live.delete(
            f"/api/cameras/1/talk/{answer.session_id}", headers={"X-CSRF-Token": watch}
        )
        assert hung_up.status == 204
        floor = await (await live.get("/api/cameras/1/talk")).json()
        assert floor["talking"] is None
    finally:
        await first.close()
    async with live.app[DB].transaction() as session:
        rows = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "live.talk.stop"))
        ).all()
    assert len(rows) == 1 and json.loads(rows[0].detail)["reason"] == "hang-up"


async def test_bad_offers_are_refused_with_a_reason(live: TestClient) -> None:
    csrf = await login(live, "hpx.watch")
    wrong_type = await live.post(
        "/api/cameras/1/whep", json={"sdp": "v=0"}, headers={"X-CSRF-Token": csrf}
    )
    assert wrong_type.status == 400 and "application/sdp" in (await wrong_type.json())["message"]
    not_sdp = await live.post(
        "/api/cameras/1/whep",
        data="hello",
        headers={"Content-Type": "application/sdp", "X-CSRF-Token": csrf},
    )
    assert not_sdp.status == 400 and (await not_sdp.json())["error"] == "invalid_offer"
    unknown = await live.post(
        "/api/cameras/99/whep",
        data="v=0",
        headers={"Content-Type": "application/sdp", "X-CSRF-Token": csrf},
    )
    assert unknown.status == 404
    no_csrf = await live.post(
        "/api/cameras/1/whep", data="v=0", headers={"Content-Type": "application/sdp"}
    )
    assert no_csrf.status == 403


async def test_stream_choice_falls_back_to_main_and_names_it(live: TestClient) -> None:
    csrf = await login(live, "hpx.watch")
    viewer = ViewerPeer(audio=False)
    responses: list[object] = []
    try:
        # The camera is registered by its main RTSP URL only: a grid tile asking for the
        # sub stream is served main, and the answer says so.
        path = "/api/cameras/1/whep?stream=sub"
        await viewer.connect(answerer(live, csrf, path, responses))
        assert responses[0].headers["X-Stream"] == "main"  # type: ignore[attr-defined]
        await viewer.wait_frames(3)
        offer = viewer.pc.localDescription.sdp
        bad = await live.post(
            "/api/cameras/1/whep?stream=third",
            data=offer,
            headers={"Content-Type": "application/sdp", "X-CSRF-Token": csrf},
        )
        assert bad.status == 400
        problem = await bad.json()
        assert problem["error"] == "unknown_stream" and "子码流" in problem["localized"]
    finally:
        await viewer.close()


async def test_wall_shows_the_recording_badge(live: TestClient) -> None:
    csrf = await login(live, "hpx.mediator")

    async def badge() -> object:
        wall = await (await live.get("/api/live/cameras")).json()
        return wall["cameras"][0]["recording"]

    assert await badge() is False
    started = await live.post(
        "/api/cameras/1/recordings",
        json={"reason": "调解会开始"},
        headers={"X-CSRF-Token": csrf},
    )
    assert started.status == 201, await started.text()
    recording_id = (await started.json())["id"]
    assert await badge() is True
    stopped = await live.post(
        f"/api/recordings/{recording_id}/stop",
        json={"reason": "调解会结束"},
        headers={"X-CSRF-Token": csrf},
    )
    assert stopped.status == 200, await stopped.text()
    assert await badge() is False
