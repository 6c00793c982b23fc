"""Room recording policies: validated and stored here, applied by the housekeeper.

A room records continuously, on a weekly schedule, only during mediation sessions, or
not at all.  The caller's raw choice is checked by the pure :func:`room_policy`; what is
stored is what the housekeeper's loop reads back with :func:`policy_from_row`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import Database, NotFoundError, Permission, Principal, Room, authorize_visible, record

from ._errors import InvalidPolicyError
from ._models import RoomPolicyRow
from ._policy import RecordingMode, RoomPolicy, WeeklyWindow, room_policy

__all__ = ["policy_from_row", "policy_windows", "room_policies", "set_room_policy"]


async def set_room_policy(
    db: Database,
    actor: Principal,
    room_id: int,
    mode: str,
    windows: Iterable[tuple[Iterable[int], str, str]] = (),
) -> RoomPolicy:
    """Check and store how a room records (audited); :class:`InvalidPolicyError` says why not."""
    try:
        policy = room_policy(mode, windows)
    except ValueError as exc:
        raise InvalidPolicyError(str(exc)) from None
    async with db.transaction() as session:
        room = await session.get(Room, room_id)
        missing = NotFoundError(f"no room {room_id} in your scope", code="room_not_found")
        if room is None:
            raise missing
        authorize_visible(actor, Permission.RECORDING_CONTROL, room.unit_code, missing)
        row = await session.get(RoomPolicyRow, room_id)
        if row is None:
            row = RoomPolicyRow(room_id=room_id)
            session.add(row)
        row.mode = policy.mode.value
        row.windows = json.dumps(policy_windows(policy))
        row.updated_by, row.updated_at = actor.actor, datetime.now(UTC)
        await record(
            session,
            actor,
            "recording.policy",
            object_type="room",
            object_id=room_id,
            unit_code=room.unit_code,
            detail={"mode": policy.mode.value, "windows": row.windows},
        )
    return policy


def policy_windows(policy: RoomPolicy) -> list[list[Any]]:
    """The windows as stored and shown: ``[[weekdays], "HH:MM", "HH:MM"]``."""
    return [
        [sorted(w.weekdays), w.start.strftime("%H:%M"), w.end.strftime("%H:%M")]
        for w in policy.windows
    ]


def policy_from_row(row: RoomPolicyRow) -> RoomPolicy:
    windows = tuple(
        WeeklyWindow(frozenset(days), time.fromisoformat(start), time.fromisoformat(end))
        for days, start, end in json.loads(row.windows)
    )
    return RoomPolicy(RecordingMode(row.mode), windows)


async def room_policies(session: AsyncSession) -> list[tuple[int, RoomPolicy]]:
    """Every room that has a policy, with it."""
    rows = (await session.scalars(select(RoomPolicyRow))).all()
    return [(row.room_id, policy_from_row(row)) for row in rows]
