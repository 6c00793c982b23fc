"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so changing,
removing or reordering any row breaks every link after it.  Entries are written with
:func:`record` inside the transaction of the change they describe: the change and its
audit row commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ._authz import Principal
from ._db import utcnow
from ._models import AuditEntry, AuditHead
from ._units import Level, scope_prefix

__all__ = ["GENESIS_HASH", "AuditBreak", "entry_hash", "in_scope", "record", "verify_chain"]

GENESIS_HASH = "0" * 64


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    actor_unit: str | None,
    action: str,
    object_type: str,
    object_id: str,
    unit_code: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON array of the entry's fields (pure)."""
    canonical = json.dumps(
        [
            seq,
            at.isoformat(timespec="microseconds"),
            actor,
            actor_unit,
            action,
            object_type,
            object_id,
            unit_code,
            detail,
            prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def record(
    session: AsyncSession,
    actor: Principal | str,
    action: str,
    *,
    object_type: str,
    object_id: str | int,
    unit_code: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction.

    Taking the head row first (an UPDATE) makes concurrent writers queue: on PostgreSQL the
    row lock, on SQLite the database write lock.  Never put secrets in ``detail``.
    """
    head = (
        await session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(seq=AuditHead.seq + 1)
            .returning(AuditHead.seq, AuditHead.last_hash)
        )
    ).one()
    seq, prev_hash = int(head.seq), str(head.last_hash)
    if isinstance(actor, Principal):
        actor_name, actor_unit = actor.actor, actor.unit_code
    else:
        actor_name, actor_unit = actor, None
    fields = {
        "seq": seq,
        "at": utcnow(),
        "actor": actor_name,
        "actor_unit": actor_unit,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "unit_code": unit_code,
        "detail": json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str),
        "prev_hash": prev_hash,
    }
    digest = entry_hash(**fields)  # type: ignore[arg-type]
    entry = AuditEntry(**fields, hash=digest)
    session.add(entry)
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest))
    return entry


def in_scope(principal: Principal) -> ColumnElement[bool]:
    """Entries a caller may read: those of its subtree; the county also sees entries tied to
    no unit (failed sign-ins with unknown usernames, gateway-wide events)."""
    own = AuditEntry.unit_code.startswith(scope_prefix(principal.unit_code), autoescape=True)
    if principal.kind == "system" or principal.level is Level.COUNTY:
        return or_(own, AuditEntry.unit_code.is_(None))
    return own


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """The first place the chain does not hold, and why."""

    seq: int
    reason: str


async def verify_chain(
    session: AsyncSession, *, batch: int = 5000
) -> tuple[int, AuditBreak | None]:
    """Walk the whole chain; return (entries checked, first break or ``None``)."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return checked, AuditBreak(expected_seq, f"entry {expected_seq} is missing")
            if row.prev_hash != prev_hash:
                return checked, AuditBreak(row.seq, "previous-hash link does not match")
            recomputed = entry_hash(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                actor_unit=row.actor_unit,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                unit_code=row.unit_code,
                detail=row.detail,
                prev_hash=row.prev_hash,
            )
            if recomputed != row.hash:
                return checked, AuditBreak(row.seq, "entry content does not match its hash")
            prev_hash = row.hash
            expected_seq += 1
            checked += 1
            last_seq = row.seq
    head = await session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_hash != prev_hash):
        return checked, AuditBreak(
            checked + 1, f"chain head says {head.seq} entries, found {checked}"
        )
    return checked, None
