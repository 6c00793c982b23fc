"""Builders for the service tests: principals of the demo units, a settable clock, rooms."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cases import CaseService, IntakeInput, LedgerService, PartyInput, SessionInput
from cases._models import CaseEventRow, CasePartyRow, CaseRow, CaseSessionRow
from core import AuditEntry, Database, Principal, Role, Room, SecretBox

COUNTY = "431226000000"
HPX = "431226203000"  # 和平溪乡
HPX_VILLAGE = "431226203201"  # 和平溪村
NMQ_VILLAGE = "431226203202"  # 楠木桥村
GC = "431226100000"  # 高村镇
GC_VILLAGE = "431226100201"  # 陶伊村

# A valid resident ID number (GB 11643 check digit) and mobile number used as party data.
ID_NUMBER = "431226199001011235"
PHONE = "13807451234"
NAME = "滕小花"


def who(unit: str, role: Role = Role.MEDIATOR, name: str = "") -> Principal:
    return Principal("user", 1000 + int(unit[-4:]), name or f"m{unit}", unit, role)


class Clock:
    """A settable clock: the service reads it, the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Services:
    cases: CaseService
    ledgers: LedgerService
    clock: Clock
    db: Database


def make_services(db: Database, start: datetime | None = None, **kwargs: object) -> Services:
    clock = Clock(start or datetime(2024, 5, 6, 1, 0, tzinfo=UTC))
    box = SecretBox(secrets.token_bytes(32))
    return Services(
        CaseService(db, box, clock=clock, **kwargs),  # type: ignore[arg-type]
        LedgerService(db, clock=clock),
        clock,
        db,
    )


def intake_input(
    unit: str | None = None, dispute_type: str = "neighbourhood", **changes: object
) -> IntakeInput:
    values: dict[str, object] = {
        "dispute_type": dispute_type,
        "channel": "window",
        "summary": "宅基地边界争议，双方因围墙位置发生纠纷",
        "parties": [
            PartyInput(name=NAME, role="applicant", id_number=ID_NUMBER, phone=PHONE),
            PartyInput(name="舒大军", role="respondent", phone="0745-5821234"),
        ],
        "unit": unit,
    }
    values.update(changes)
    return IntakeInput(**values)  # type: ignore[arg-type]


async def mediation_room(db: Database, unit: str) -> int:
    async with db.transaction() as session:
        room = await session.scalar(
            select(Room.id).where(Room.unit_code == unit, Room.kind == "mediation")
        )
    assert room is not None
    return int(room)


def session_input(room: int, outcome: str | None = "failed", **changes: object) -> SessionInput:
    values: dict[str, object] = {
        "room_id": room,
        "mediators": ["杨德福"],
        "mode": "record",
        "outcome": outcome,
    }
    values.update(changes)
    return SessionInput(**values)  # type: ignore[arg-type]


async def counts(db: Database) -> dict[str, int]:
    """Rows of every case table and of the audit log: "nothing changed" is equality."""
    out = {}
    async with db.transaction() as session:
        for name, model in (
            ("cases", CaseRow),
            ("parties", CasePartyRow),
            ("sessions", CaseSessionRow),
            ("events", CaseEventRow),
            ("audit", AuditEntry),
        ):
            out[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return out
