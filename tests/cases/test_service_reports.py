"""Ledgers, snapshots, the due board and the KPI through the database path.

The SQL aggregation (``cases._report_sql``) must give exactly the numbers of the pure core
(``compute_ledger`` / ``petition_kpi`` over snapshots loaded case by case): checked on a
hand-built month with numbers worked out below, and on a randomly seeded quarter.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from cases import (
    CaseQuery,
    EscalationNotAllowed,
    Month,
    ReportStatus,
    compute_ledger,
    ledger_to_json,
)
from cases._calendar import CHINA_TZ, china_date
from cases._errors import InvalidCaseInputError, LedgerNotReadyError
from cases._kpi import petition_kpi
from cases._ledger_service import LedgerInconsistentError
from cases._models import CaseRow, LedgerSnapshotRow
from cases._report_sql import in_subtree, kpi_sql, ledger_sql
from cases._store import load_snapshots
from cases._types import Channel, DisputeType, Stage
from core import Database, Role, Unit
from tests.cases.service_helpers import (
    COUNTY,
    GC,
    GC_VILLAGE,
    HPX,
    HPX_VILLAGE,
    NMQ_VILLAGE,
    Services,
    intake_input,
    make_services,
    mediation_room,
    session_input,
    who,
)


def china(day: str, hour: int = 10) -> datetime:
    return (
        datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CHINA_TZ).astimezone(UTC)
    )


async def _hand_built_month(s: Services) -> dict[str, int]:
    """Cases A–G around the May 2024 period (2024-04-26 … 2024-05-25)."""
    ids: dict[str, int] = {}

    async def intake(name: str, day: str, unit: str, **kw: object) -> None:
        s.clock.now = china(day)
        ids[name] = (await s.cases.intake(who(unit), intake_input(unit, **kw))).summary.id

    await intake("D", "2024-04-01", HPX_VILLAGE)
    await intake("G", "2024-04-10", HPX)
    s.clock.now = china("2024-04-15")
    await s.cases.close(who(HPX), ids["G"], resolved=True, note="调解成功")
    await intake("A", "2024-04-20", HPX_VILLAGE, dispute_type="land_forest")
    await intake("B", "2024-05-02", HPX)
    await intake("C", "2024-05-03", NMQ_VILLAGE, dispute_type="labour", channel="phone")
    s.clock.now = china("2024-05-05")
    await s.cases.close(who(HPX), ids["B"], resolved=True, note="书面协议")
    room = await mediation_room(s.db, HPX_VILLAGE)
    for day in ("2024-05-06", "2024-05-07", "2024-05-08"):
        s.clock.now = china(day)
        await s.cases.sessions.add(who(HPX_VILLAGE), ids["A"], session_input(room))
    s.clock.now = china("2024-05-10")
    await s.cases.escalate(who(HPX_VILLAGE), ids["A"], "township", "三次调解未成")
    s.clock.now = china("2024-05-20")
    await s.cases.close(who(NMQ_VILLAGE), ids["C"], resolved=False, note="当事人撤回")
    await intake("E", "2024-05-24", HPX, channel="grid_worker")
    s.clock.now = china("2024-05-25")
    await s.cases.link_petition(who(HPX), ids["E"], filed_on="2024-05-25", reference="信-7")
    return ids


async def test_hand_computed_ledger(db: Database) -> None:
    s = make_services(db)
    await _hand_built_month(s)
    s.clock.now = china("2024-05-27")
    await s.cases.intake(who(HPX), intake_input(HPX))  # F: after the period
    s.clock.now = china("2024-06-01")
    may = Month(2024, 5)

    township = await s.ledgers.ledger(who(HPX), HPX, may)
    assert (township.period.start.isoformat(), township.period.end.isoformat()) == (
        "2024-04-26",
        "2024-05-25",
    )
    assert township.received == 3  # B, C, E
    assert (
        township.by_type[DisputeType.NEIGHBOURHOOD] == 2
        and township.by_type[DisputeType.LABOUR] == 1
    )
    assert township.by_channel[Channel.WINDOW] == 1
    assert township.by_channel[Channel.PHONE] == 1
    assert township.by_channel[Channel.GRID_WORKER] == 1
    assert (township.open_at_start, township.active) == (2, 5)  # A, D carried over
    assert (township.closed, township.closed_here, township.resolved_here) == (2, 2, 1)
    assert (township.escalated_up, township.escalations_received) == (0, 1)
    assert township.success_rate == 0.5
    assert township.overdue == 2  # D (54 days) and A (35 days) still open
    assert township.petitions == 1
    rows = {row.unit: (dict(row.counts), row.total) for row in township.stages}
    assert list(rows) == [HPX, HPX_VILLAGE, NMQ_VILLAGE, "431226203203", "431226203204"]
    assert rows[HPX][0][Stage.TOWNSHIP] == 2 and rows[HPX][1] == 2
    assert rows[HPX_VILLAGE][0][Stage.VILLAGE] == 1 and rows[HPX_VILLAGE][0][Stage.TOWNSHIP] == 1
    assert rows[NMQ_VILLAGE][1] == 1 and rows["431226203204"][1] == 0

    village = await s.ledgers.ledger(who(HPX_VILLAGE), HPX_VILLAGE, may)
    assert (village.received, village.open_at_start, village.closed) == (0, 2, 0)
    assert (village.escalated_up, village.success_rate, village.overdue) == (1, 0.0, 2)

    county = await s.ledgers.ledger(who(COUNTY, Role.AUDITOR), COUNTY, may)
    assert county.received == 3 and county.escalations_received == 0
    assert [row.unit for row in county.stages] == [COUNTY, GC, HPX]
    assert dict(county.stages[2].counts)[Stage.TOWNSHIP] == 3


async def _core_and_sql_agree(db: Database, today: datetime) -> int:
    compared = 0
    async with db.transaction() as session:
        for unit in (COUNTY, HPX, HPX_VILLAGE, NMQ_VILLAGE, GC, GC_VILLAGE):
            children = list(
                await session.scalars(select(Unit.code).where(Unit.parent_code == unit))
            )
            snaps = await load_snapshots(session, in_subtree(CaseRow.receiving_unit, unit))
            for month in (Month(2024, m) for m in range(3, 9)):
                as_of = china_date(today)
                by_sql = await ledger_sql(session, unit, month, as_of=as_of, child_units=children)
                by_core = compute_ledger(unit, month, snaps, as_of=as_of, child_units=children)
                assert by_sql == by_core, (unit, month)
                compared += 1
            assert await kpi_sql(session, unit, 2024, now=today) == petition_kpi(
                unit, 2024, snaps, now=today
            )
    return compared


@pytest.mark.slow
async def test_sql_ledger_and_kpi_equal_the_core_on_a_random_quarter(db: Database) -> None:
    rng = random.Random(20240601)
    s = make_services(db, start=china("2024-03-20"))
    units = [HPX_VILLAGE, NMQ_VILLAGE, HPX, GC, GC_VILLAGE, COUNTY]
    rooms = {u: await mediation_room(db, u) for u in units}
    open_cases: list[int] = []
    for _day in range(110):
        s.clock.advance(hours=rng.choice([20, 24, 30]))
        for _ in range(rng.randint(0, 2)):
            unit = rng.choice(units)
            detail = await s.cases.intake(
                who(unit, Role.ADMIN),
                intake_input(
                    unit,
                    dispute_type=rng.choice(list(DisputeType)).value,
                    channel=rng.choice(list(Channel)).value,
                    townships=[GC] if unit == NMQ_VILLAGE and rng.random() < 0.3 else [],
                ),
            )
            open_cases.append(detail.summary.id)
        for case_id in rng.sample(open_cases, min(len(open_cases), 3)):
            s.clock.advance(minutes=17)
            detail = await s.cases.get(who(COUNTY, Role.ADMIN), case_id)
            actor, unit = who(COUNTY, Role.ADMIN), detail.summary.current_unit
            roll = rng.random()
            if detail.summary.status == "closed":
                if roll < 0.2:
                    await s.cases.reopen(actor, case_id, "协议未履行，重新调解")
                continue
            if detail.assessment.due is not None and roll < 0.6:
                due = detail.assessment.due
                if due.target is Stage.COUNTY_LEADER:
                    await s.cases.take_charge(actor, case_id, "县领导")
                else:
                    await s.cases.escalate(actor, case_id, due.to_level.value)
            elif roll < 0.7:
                outcome = rng.choice(["failed", "failed", "partly", "resolved_written"])
                kind = rng.choice(["professional", "centre_staff", "peoples_mediation"])
                if detail.summary.level == "county":  # let some reach 包案
                    outcome, kind = rng.choice(["failed", "partly"]), "department"
                await s.cases.sessions.add(
                    actor, case_id, session_input(rooms[unit], outcome, mediator_kind=kind)
                )
            elif roll < 0.85:
                await s.cases.close(actor, case_id, resolved=rng.random() < 0.6, note="办结")
            elif detail.petitioned_at is None:
                await s.cases.link_petition(
                    actor,
                    case_id,
                    filed_on=china_date(s.clock.now).isoformat(),
                    reference=f"信-{case_id}",
                )
            elif roll < 0.95:
                with pytest.raises(EscalationNotAllowed):
                    await s.cases.escalate(actor, case_id, "county")  # skips or too early
    assert len(open_cases) > 60
    async with db.transaction() as session:
        rows = list(await session.scalars(select(CaseRow)))
    # The quarter exercises every path the ledger distinguishes.
    assert {r.level for r in rows} == {"village", "township", "county"}
    assert any(r.leader_at for r in rows) and any(r.petitioned_at for r in rows)
    assert any(r.closure_resolved for r in rows) and any(r.closure_resolved is False for r in rows)
    assert any(r.status == "reopened" for r in rows) and any(r.townships for r in rows)
    assert await _core_and_sql_agree(db, s.clock.now) == 36


async def test_snapshots_are_frozen_versions_and_the_board_shows_due_and_overdue(
    db: Database,
) -> None:
    s = make_services(db)
    await _hand_built_month(s)
    may = Month(2024, 5)
    s.clock.now = china("2024-05-24")
    with pytest.raises(LedgerNotReadyError):
        await s.ledgers.submit(who(HPX), HPX, may)
    board = {r.unit: r.status for r in await s.ledgers.board(who(COUNTY, Role.AUDITOR), may)}
    assert board[HPX] is ReportStatus.NOT_DUE

    s.clock.now = china("2024-05-25", 17)
    first = await s.ledgers.submit(who(HPX), HPX, may)
    assert first.version == 1 and first.ledger == await s.ledgers.ledger(who(HPX), HPX, may)
    with pytest.raises(InvalidCaseInputError, match="needs a reason"):
        await s.ledgers.submit(who(HPX), HPX, may)
    board = {r.unit: r.status for r in await s.ledgers.board(who(COUNTY, Role.AUDITOR), may)}
    assert board[HPX] is ReportStatus.SUBMITTED and board[GC] is ReportStatus.DUE_TODAY

    # A late closure changes the live ledger; the frozen v1 keeps what was submitted.
    s.clock.now = china("2024-05-25", 20)
    case_e = (await s.cases.search(who(HPX), CaseQuery(text="000003"))).cases
    await s.cases.close(who(HPX), case_e[0].id, resolved=True, note="补录：当日已化解")
    second = await s.ledgers.submit(who(HPX), HPX, may, "补录5月25日办结案件")
    assert second.version == 2 and second.ledger.closed == first.ledger.closed + 1
    versions = await s.ledgers.snapshots(who(COUNTY, Role.AUDITOR), HPX, may)
    assert [(v.version, v.reason) for v in versions] == [(1, ""), (2, "补录5月25日办结案件")]
    assert versions[0].ledger == first.ledger
    assert json.loads(json.dumps(ledger_to_json(versions[1].ledger))) == ledger_to_json(
        second.ledger
    )

    s.clock.now = china("2024-05-26")
    board = {r.unit: r for r in await s.ledgers.board(who(COUNTY, Role.AUDITOR), may)}
    assert board[GC].status is ReportStatus.OVERDUE and board[HPX].versions == 2
    # The board of a chosen unit lists that unit's subtree only.
    chosen = {r.unit for r in await s.ledgers.board(who(COUNTY, Role.AUDITOR), may, HPX)}
    assert HPX in chosen and GC not in chosen and GC_VILLAGE not in chosen
    assert all(unit.startswith(HPX[:9]) for unit in chosen)

    async with db.transaction() as session:
        await session.execute(
            update(LedgerSnapshotRow)
            .where(LedgerSnapshotRow.version == 1)
            .values(payload=LedgerSnapshotRow.payload + " ")
        )
    with pytest.raises(LedgerInconsistentError, match="SHA-256"):
        await s.ledgers.snapshots(who(HPX), HPX, may)


async def test_kpi_counts_petitions_against_ten_percent(db: Database) -> None:
    s = make_services(db)
    await _hand_built_month(s)
    s.clock.now = china("2024-06-01")
    kpi = await s.ledgers.kpi(who(HPX), HPX, 2024)
    assert (kpi.cases, kpi.petitioned) == (6, 1)  # A B C D E G; E petitioned
    assert not kpi.within_limit and kpi.followed_3221 and not kpi.penalised
    village = await s.ledgers.kpi(who(HPX_VILLAGE), HPX_VILLAGE, 2024)
    assert (village.cases, village.petitioned, village.within_limit) == (2, 0, True)
