"""From rows to the pure core's values: one case's facts, or the snapshots of many.

Only finished sessions (with an outcome) are facts for the 3221 rules: a session counts at
the instant its outcome became known (``ended_at``).  Escalations and 包案 count at the
instant they were recorded.  Bulk loading reads three tables with one query each, so the
per-case core (ledger cross-check, KPI flags) can run over thousands of cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from cases._facts import CaseFacts, Closure, Escalation, LeaderCharge, Session, merge_history
from cases._ledger import CaseSnapshot
from cases._models import CaseDisputeTypeRow, CaseEscalationRow, CaseRow, CaseSessionRow
from cases._types import Channel, DisputeType, MediatorKind, Outcome
from core import Level

__all__ = ["facts_of", "ledger_column", "load_snapshots", "snapshot_of", "split_townships"]

_CHUNK = 5000  # ids per IN (...) list: well below SQLite's and asyncpg's parameter limits


def split_townships(text: str) -> frozenset[str]:
    return frozenset(code for code in text.split(",") if code)


def _session_fact(row: Any) -> Session:
    return Session(
        row.ended_at,
        Level(row.level),
        Outcome(row.outcome),
        MediatorKind(row.mediator_kind),
        ref=f"session:{row.id}",
    )


def _escalation_fact(row: Any) -> Escalation:
    return Escalation(
        row.at, Level(row.from_level), Level(row.to_level), row.by, ref=f"escalation:{row.id}"
    )


def facts_of(case: Any, sessions: Iterable[Any], escalations: Iterable[Any]) -> CaseFacts:
    """The facts of one case from its row (or a row-like tuple) and its child rows."""
    leaders = (
        [LeaderCharge(case.leader_at, case.leader_name or "", case.leader_by or "", ref="leader")]
        if case.leader_at is not None
        else []
    )
    history = merge_history(
        [_session_fact(s) for s in sessions if s.outcome is not None and s.ended_at is not None],
        [_escalation_fact(e) for e in escalations],
        leaders,
    )
    closure = (
        Closure(case.closed_at, bool(case.closure_resolved)) if case.closed_at is not None else None
    )
    return CaseFacts(
        unit=case.receiving_unit,
        received_at=case.received_at,
        history=history,
        townships=split_townships(case.townships),
        closure=closure,
    )


def ledger_column(key: str, column: str | None) -> DisputeType:
    """The ledger column of a case's dispute type ``key`` (``column`` from the type's row).

    A key without a row means the configured list lost a row it must keep forever; the
    ledger cannot place the case, so it says so instead of miscounting.
    """
    if column is None:
        raise LookupError(
            f"dispute type {key!r} is not configured in case_dispute_types; restore its row "
            "(types are deactivated, never deleted)"
        )
    return DisputeType(column)


def snapshot_of(case: Any, facts: CaseFacts) -> CaseSnapshot:
    """``case`` carries ``ledger_column``: the column of its dispute type (see the join)."""
    return CaseSnapshot(
        case_id=str(case.id),
        number=case.number,
        dispute_type=ledger_column(case.dispute_type, case.ledger_column),
        channel=Channel(case.channel),
        facts=facts,
        petitioned_at=case.petitioned_at,
    )


_CASE_COLUMNS = (
    CaseRow.id,
    CaseRow.number,
    CaseRow.receiving_unit,
    CaseRow.received_at,
    CaseRow.townships,
    CaseRow.dispute_type,
    CaseRow.channel,
    CaseRow.leader_at,
    CaseRow.leader_name,
    CaseRow.leader_by,
    CaseRow.closed_at,
    CaseRow.closure_resolved,
    CaseRow.petitioned_at,
    CaseDisputeTypeRow.ledger_column,
)


async def load_snapshots(
    session: AsyncSession, *conditions: ColumnElement[bool], with_history: bool = True
) -> list[CaseSnapshot]:
    """Snapshots of the cases matching ``conditions`` (e.g. a subtree and a date range).

    ``with_history=False`` skips sessions and escalations (still keeping 包案 and closure):
    enough for counts that do not depend on the 3221 history.
    """
    cases = (
        await session.execute(
            select(*_CASE_COLUMNS)
            .select_from(CaseRow)
            .outerjoin(CaseDisputeTypeRow, CaseDisputeTypeRow.key == CaseRow.dispute_type)
            .where(*conditions)
        )
    ).all()
    sessions: dict[int, list[Any]] = defaultdict(list)
    escalations: dict[int, list[Any]] = defaultdict(list)
    if with_history and cases:
        ids = [row.id for row in cases]
        for chunk in _chunks(ids):
            for s in await session.execute(
                select(
                    CaseSessionRow.id,
                    CaseSessionRow.case_id,
                    CaseSessionRow.ended_at,
                    CaseSessionRow.level,
                    CaseSessionRow.outcome,
                    CaseSessionRow.mediator_kind,
                )
                .where(CaseSessionRow.case_id.in_(chunk), CaseSessionRow.outcome.is_not(None))
                .order_by(CaseSessionRow.ended_at, CaseSessionRow.id)
            ):
                sessions[s.case_id].append(s)
            for e in await session.execute(
                select(
                    CaseEscalationRow.id,
                    CaseEscalationRow.case_id,
                    CaseEscalationRow.at,
                    CaseEscalationRow.from_level,
                    CaseEscalationRow.to_level,
                    CaseEscalationRow.by,
                )
                .where(CaseEscalationRow.case_id.in_(chunk))
                .order_by(CaseEscalationRow.at, CaseEscalationRow.id)
            ):
                escalations[e.case_id].append(e)
    return [
        snapshot_of(row, facts_of(row, sessions.get(row.id, ()), escalations.get(row.id, ())))
        for row in cases
    ]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
