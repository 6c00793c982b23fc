"""Room policies are checked and stored by recordings: a domain error, nothing stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core import SYSTEM, Database, NotFoundError, Room
from recordings import InvalidPolicyError, RoomPolicyRow
from recordings._room_policies import room_policies, set_room_policy


async def test_set_room_policy_checks_then_stores(db: Database) -> None:
    async with db.transaction() as session:
        room_id = await session.scalar(select(Room.id).where(Room.unit_code == "431226203201"))
    assert room_id is not None
    with pytest.raises(InvalidPolicyError, match="not 'sometimes'") as raised:
        await set_room_policy(db, SYSTEM, room_id, "sometimes")
    assert raised.value.code == "invalid_policy"
    with pytest.raises(NotFoundError, match="no room 999999 in your scope"):
        await set_room_policy(db, SYSTEM, 999999, "continuous")
    async with db.transaction() as session:
        assert await session.get(RoomPolicyRow, room_id) is None
    policy = await set_room_policy(db, SYSTEM, room_id, "schedule", [([4, 0], "08:00", "12:00")])
    async with db.transaction() as session:
        row = await session.get(RoomPolicyRow, room_id)
        assert row is not None and row.mode == "schedule"
        assert json.loads(row.windows) == [[[0, 4], "08:00", "12:00"]]
        assert await room_policies(session) == [(room_id, policy)]
