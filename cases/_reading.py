"""Reading cases: the search conditions, list summaries and the full case with its timeline.

Lists and the case page show parties masked (the masked copies stored at intake); the
3221 assessment of each case is computed from its facts at the time of reading.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from cases._access import load_facts, scope_condition
from cases._dispute_types import DisputeTypeCatalogue
from cases._errors import InvalidCaseInputError
from cases._inputs import CaseQuery
from cases._mediation import session_view
from cases._models import CaseEscalationRow, CaseEventRow, CasePartyRow, CaseRow, CaseSessionRow
from cases._report_sql import china_midnight, in_subtree
from cases._rules import Assessment, RulesConfig, assess
from cases._store import load_snapshots, split_townships
from cases._types import CaseStatus, Channel, parse_choice
from cases._views import CaseDetail, CaseSummary, EscalationView, EventView, PartyView
from core import Level, Principal, User, validate_code

__all__ = ["detail", "search_conditions", "summaries"]


def search_conditions(
    actor: Principal, query: CaseQuery, types: DisputeTypeCatalogue
) -> list[ColumnElement[bool]]:
    """The SQL conditions of a search: the caller's scope and every given filter.

    The type filter accepts every configured type, inactive ones too: old cases keep them.
    """
    conditions = [c for c in (scope_condition(actor),) if c is not None]
    if query.text.strip():
        needle = query.text.strip()
        conditions.append(
            or_(
                CaseRow.number.contains(needle, autoescape=True),
                CaseRow.summary.contains(needle, autoescape=True),
            )
        )
    for column, value, kind, name in (
        (CaseRow.status, query.status, CaseStatus, "status"),
        (CaseRow.channel, query.channel, Channel, "channel"),
        (CaseRow.level, query.level, Level, "level"),
    ):
        if value:
            conditions.append(column == parse_choice(kind, value, field=name).value)
    if query.dispute_type:
        conditions.append(CaseRow.dispute_type == types.for_filter(query.dispute_type).key)
    if query.unit:
        try:
            validate_code(query.unit)
        except ValueError as exc:
            raise InvalidCaseInputError(f"unit filter: {exc}") from None
        conditions.append(
            or_(
                in_subtree(CaseRow.receiving_unit, query.unit),
                in_subtree(CaseRow.current_unit, query.unit),
            )
        )
    if query.received_from:
        conditions.append(CaseRow.received_at >= china_midnight(query.received_from))
    if query.received_to:
        conditions.append(
            CaseRow.received_at < china_midnight(query.received_to) + timedelta(days=1)
        )
    return conditions


async def summaries(
    session: AsyncSession, rows: list[CaseRow], now: datetime, rules: RulesConfig
) -> list[CaseSummary]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    snaps = {int(s.case_id): s for s in await load_snapshots(session, CaseRow.id.in_(ids))}
    parties: dict[int, list[PartyView]] = {i: [] for i in ids}
    for p in await session.scalars(
        select(CasePartyRow).where(CasePartyRow.case_id.in_(ids)).order_by(CasePartyRow.id)
    ):
        parties[p.case_id].append(_party_view(p))
    mediator_ids = {r.mediator_id for r in rows if r.mediator_id is not None}
    names = {
        u.id: u.username
        for u in await session.scalars(select(User).where(User.id.in_(mediator_ids)))
    }
    out = []
    for row in rows:
        a = assess(snaps[row.id].facts, now=now, config=rules)
        out.append(_summary(row, parties[row.id], names.get(row.mediator_id or 0), a))
    return out


async def detail(
    session: AsyncSession, case: CaseRow, now: datetime, rules: RulesConfig
) -> CaseDetail:
    facts = await load_facts(session, case)
    assessment = assess(facts, now=now, config=rules)
    parties = await session.scalars(
        select(CasePartyRow).where(CasePartyRow.case_id == case.id).order_by(CasePartyRow.id)
    )
    sessions = await session.scalars(
        select(CaseSessionRow).where(CaseSessionRow.case_id == case.id).order_by(CaseSessionRow.id)
    )
    session_views = [await session_view(session, s) for s in sessions]
    escalations = await session.scalars(
        select(CaseEscalationRow)
        .where(CaseEscalationRow.case_id == case.id)
        .order_by(CaseEscalationRow.at, CaseEscalationRow.id)
    )
    events = await session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == case.id).order_by(CaseEventRow.id)
    )
    mediator = await session.get(User, case.mediator_id) if case.mediator_id else None
    summary = _summary(
        case,
        [_party_view(p) for p in parties],
        mediator.username if mediator else None,
        assessment,
    )
    return CaseDetail(
        summary=summary,
        townships=tuple(sorted(split_townships(case.townships))),
        created_by=case.created_by,
        leader_name=case.leader_name,
        leader_at=case.leader_at,
        closure_resolved=case.closure_resolved,
        closure_note=case.closure_note,
        petitioned_at=case.petitioned_at,
        petition_ref=case.petition_ref,
        sessions=tuple(session_views),
        escalations=tuple(
            EscalationView(
                e.id, e.at, e.from_level, e.to_level, e.from_unit, e.to_unit, e.by, e.reason
            )
            for e in escalations
        ),
        events=tuple(
            EventView(ev.at, ev.actor, ev.kind, ev.status_from, ev.status_to, ev.note)
            for ev in events
        ),
        assessment=assessment,
    )


def _party_view(row: CasePartyRow) -> PartyView:
    return PartyView(row.id, row.role, row.name_masked, row.id_number_masked, row.phone_masked)


def _summary(
    row: CaseRow, parties: list[PartyView], mediator: str | None, assessment: Assessment
) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        number=row.number,
        receiving_unit=row.receiving_unit,
        current_unit=row.current_unit,
        level=row.level,
        status=row.status,
        dispute_type=row.dispute_type,
        channel=row.channel,
        summary=row.summary,
        received_at=row.received_at,
        closed_at=row.closed_at,
        parties=tuple(parties),
        mediator=mediator,
        leader_in_charge=row.leader_at is not None,
        due=assessment.due.target.value if assessment.due else None,
        flagged=bool(assessment.flags),
    )
