"""A gateway whose meeting rooms compose a small picture (640×360 at 10 frames a second),
so that several synthetic participants fit on a shared test machine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from aiohttp.test_utils import TestClient

from core import Settings
from meetings import BEIJING, RoomSettings
from web import ROOMS

TEST_ROOM = RoomSettings(width=640, height=360, fps=10, bitrate=600_000, vanish_after=5.0)


@pytest.fixture
async def meeting_client(app_settings: Settings, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    from gateway import create_app

    app = create_app(app_settings)
    app[ROOMS].settings = TEST_ROOM
    return await aiohttp_client(app)


def next_friday() -> date:
    from datetime import datetime

    today = datetime.now(BEIJING).date() + timedelta(days=1)
    return today + timedelta(days=(5 - today.isoweekday()) % 7)
