"""Loading a case for a caller, and the bookkeeping every change of a case does.

Scope (一级一权限, with the escalation twist of issue 6): a case is visible to a caller
whose unit contains the case's *receiving* unit or its *current handling* unit.  It is
changed by a caller with ``case.write`` over the current handling unit: once a village
has reported a case to the township, the township handles it and the village only reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from cases._errors import CaseNotFoundError
from cases._facts import CaseFacts
from cases._models import CaseEscalationRow, CaseEventRow, CaseRow, CaseSessionRow
from cases._report_sql import in_subtree
from cases._status import check_transition
from cases._store import facts_of
from cases._types import CaseStatus
from core import Permission, Principal, authorize, can, record

__all__ = [
    "add_event",
    "audit_case",
    "load_facts",
    "scope_condition",
    "set_status",
    "visible_case",
    "writable_case",
]


def scope_condition(actor: Principal) -> ColumnElement[bool] | None:
    """The SQL condition of the cases ``actor`` may see (``None``: all, for the system)."""
    if actor.kind == "system":
        return None
    return or_(
        in_subtree(CaseRow.receiving_unit, actor.unit_code),
        in_subtree(CaseRow.current_unit, actor.unit_code),
    )


def may_see(actor: Principal, permission: Permission, case: CaseRow) -> bool:
    return can(actor, permission, case.receiving_unit) or can(actor, permission, case.current_unit)


async def visible_case(
    session: AsyncSession,
    actor: Principal,
    case_id: int,
    permission: Permission = Permission.CASE_READ,
) -> CaseRow:
    """The case, or :class:`CaseNotFoundError` for "absent" and "not yours" alike."""
    case = await session.get(CaseRow, case_id)
    if case is None or not may_see(actor, Permission.CASE_READ, case):
        raise CaseNotFoundError(f"no case {case_id} in your scope")
    if permission is not Permission.CASE_READ and not may_see(actor, permission, case):
        authorize(actor, permission, case.current_unit)  # raises with the precise reason
    return case


async def writable_case(session: AsyncSession, actor: Principal, case_id: int) -> CaseRow:
    """The case locked for update (PostgreSQL row lock), if ``actor`` may change it."""
    case = await session.scalar(
        select(CaseRow)
        .where(CaseRow.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if case is None or not may_see(actor, Permission.CASE_READ, case):
        raise CaseNotFoundError(f"no case {case_id} in your scope")
    authorize(actor, Permission.CASE_WRITE, case.current_unit)
    return case


async def load_facts(session: AsyncSession, case: CaseRow) -> CaseFacts:
    sessions = await session.scalars(
        select(CaseSessionRow)
        .where(CaseSessionRow.case_id == case.id)
        .order_by(CaseSessionRow.ended_at, CaseSessionRow.id)
    )
    escalations = await session.scalars(
        select(CaseEscalationRow)
        .where(CaseEscalationRow.case_id == case.id)
        .order_by(CaseEscalationRow.at, CaseEscalationRow.id)
    )
    return facts_of(case, list(sessions), list(escalations))


def add_event(
    session: AsyncSession,
    case: CaseRow,
    actor: Principal,
    kind: str,
    at: datetime,
    *,
    status_from: str | None,
    note: str = "",
) -> None:
    session.add(
        CaseEventRow(
            case_id=case.id,
            at=at,
            actor=actor.actor,
            kind=kind,
            status_from=status_from,
            status_to=case.status,
            note=note,
        )
    )


def set_status(
    session: AsyncSession,
    case: CaseRow,
    actor: Principal,
    new: CaseStatus,
    kind: str,
    at: datetime,
    note: str = "",
) -> None:
    """Move the case to ``new`` (checked by the status table) and write the history row."""
    old = case.status
    check_transition(CaseStatus(old), new)
    case.status = new.value
    add_event(session, case, actor, kind, at, status_from=old, note=note)


async def audit_case(
    session: AsyncSession,
    actor: Principal,
    action: str,
    case: CaseRow,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry of a change, in its transaction; never carries personal data."""
    await record(
        session,
        actor,
        action,
        object_type="case",
        object_id=case.number,
        unit_code=case.current_unit,
        detail={"case_id": case.id, **(detail or {})},
    )
