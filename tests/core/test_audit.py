"""The hash chain: every change recorded in its own transaction; tampering is found."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select, update

from core import SYSTEM, AuditEntry, Database, Role, record, verify_chain


async def test_demo_chain_verifies(db: Database) -> None:
    async with db.transaction() as session:
        checked, broken = await verify_chain(session)
    assert broken is None and checked > 10


async def test_each_entry_links_to_the_previous(db: Database) -> None:
    async with db.transaction() as session:
        first = await record(session, SYSTEM, "test.one", object_type="thing", object_id=1)
        second = await record(session, SYSTEM, "test.two", object_type="thing", object_id=2)
    assert second.seq == first.seq + 1 and second.prev_hash == first.hash


async def test_audit_rolls_back_with_the_change_it_records(db: Database) -> None:
    async with db.transaction() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await record(session, SYSTEM, "test.doomed", object_type="thing", object_id=1)
            raise RuntimeError("the change fails")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert (await verify_chain(session))[1] is None


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (
            update(AuditEntry).where(AuditEntry.seq == 3).values(detail='{"forged": true}'),
            "content does not match",
        ),
        (
            update(AuditEntry).where(AuditEntry.seq == 3).values(actor="user:someone-else"),
            "content does not match",
        ),
        (delete(AuditEntry).where(AuditEntry.seq == 3), "missing"),
    ],
)
async def test_tampering_is_found_at_the_right_entry(
    db: Database, tamper: object, reason: str
) -> None:
    async with db.transaction() as session:
        await session.execute(tamper)  # type: ignore[call-overload]
    async with db.transaction() as session:
        _checked, broken = await verify_chain(session)
    assert broken is not None and broken.seq == 3 and reason in broken.reason


async def test_concurrent_writers_keep_one_chain(db: Database) -> None:
    async def write(n: int) -> None:
        async with db.transaction() as session:
            await record(session, SYSTEM, "test.concurrent", object_type="thing", object_id=n)

    await asyncio.gather(*(write(n) for n in range(12)))
    async with db.transaction() as session:
        _checked, broken = await verify_chain(session)
    assert broken is None


async def test_role_is_recorded_with_actor_unit(db: Database) -> None:
    from core import Principal

    actor = Principal("user", 9, "hpx.admin", "431226203000", Role.ADMIN)
    async with db.transaction() as session:
        entry = await record(
            session,
            actor,
            "room.create",
            object_type="room",
            object_id=5,
            unit_code="431226203201",
            detail={"name": "调解室"},
        )
    assert entry.actor == "user:hpx.admin" and entry.actor_unit == "431226203000"
    assert "调解室" in entry.detail
