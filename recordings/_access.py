"""Loading a recording's index row, and which rows a caller may see (一级一权限).

A caller sees the recordings of its unit's subtree.  Lists apply that as SQL, before any
limit, so a page is full of the caller's own recordings however many newer ones other
units have.  Addressed by id, a recording outside the scope answers exactly like a
missing one (404, same message), so ids tell nothing about other units.
"""

from __future__ import annotations

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from core import Permission, Principal, authorize, can, scope_prefix

from ._errors import RecordingNotFoundError
from ._models import RecordingRow

__all__ = ["existing_row", "scope_condition", "visible", "visible_row"]


def scope_condition(actor: Principal) -> ColumnElement[bool] | None:
    """The SQL condition of the recordings ``actor`` may see (``None``: all, for the system).

    Division codes are fixed-width digit strings, so the subtree of prefix ``p`` is the
    range ``[p, p + 1)``: unlike ``LIKE 'p%'`` it uses the index on ``unit_code`` on
    SQLite and PostgreSQL alike (whatever the collation).
    """
    if actor.kind == "system":
        return None
    prefix = scope_prefix(actor.unit_code)
    column = RecordingRow.unit_code
    if prefix == "9" * len(prefix):  # no string of this width sorts after it
        return column >= prefix
    return and_(column >= prefix, column < str(int(prefix) + 1).zfill(len(prefix)))


async def existing_row(session: AsyncSession, recording_id: str) -> RecordingRow:
    """The index row, unchecked for scope (for the process itself); deleted ones are gone."""
    row = await session.get(RecordingRow, recording_id)
    if row is None or row.state == "deleted":
        raise RecordingNotFoundError(f"there is no recording {recording_id}")
    return row


def visible(actor: Principal, unit_code: str) -> bool:
    """Whether ``actor`` may know that a recording (or export) of ``unit_code`` exists."""
    return can(actor, Permission.RECORDING_VIEW, unit_code)


async def visible_row(
    session: AsyncSession,
    actor: Principal,
    recording_id: str,
    permission: Permission = Permission.RECORDING_VIEW,
) -> RecordingRow:
    """The row for a caller's request: absent and out of scope alike raise "not found".

    Within the scope, a role that lacks ``permission`` (control, export) is refused with
    the role's reason (403).
    """
    row = await session.get(RecordingRow, recording_id)
    if row is None or row.state == "deleted" or not visible(actor, row.unit_code):
        raise RecordingNotFoundError(f"no recording {recording_id} in your scope")
    authorize(actor, permission, row.unit_code)
    return row
