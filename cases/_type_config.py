"""Configuring the dispute-type list: read it, add a local type, rename, (de)activate.

The list is county-wide (one county per gateway), so only an administrator of the county
(``Permission.ORG_MANAGE`` at the county unit) changes it; every change is audited in its
transaction.  Reading it is open to whoever works with cases or ledgers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases._dispute_types import (
    DisputeTypeCatalogue,
    DisputeTypeDef,
    validate_type_key,
    validate_type_label,
)
from cases._errors import (
    DisputeTypeExistsError,
    DisputeTypeNotFoundError,
    InvalidCaseInputError,
)
from cases._models import CaseDisputeTypeRow
from cases._types import DisputeType, parse_choice
from core import (
    Database,
    Level,
    Permission,
    PermissionDeniedError,
    Principal,
    authorize,
    level_of,
    record,
    utcnow,
)

__all__ = ["DisputeTypeInput", "DisputeTypePatch", "DisputeTypes", "load_catalogue"]

_MAX_POSITION = 1_000_000


@dataclass(frozen=True)
class DisputeTypeInput:
    """A local dispute type to add (the body of ``POST /api/dispute-types``)."""

    key: str = field(metadata={"max_length": 20, "description": "e.g. tea_garden"})
    label_zh: str = field(metadata={"max_length": 50})
    label_en: str = field(default="", metadata={"max_length": 50})
    ledger_column: str = field(
        default=DisputeType.OTHER.value,
        metadata={"max_length": 20, "description": "the standard ledger column it counts in"},
    )
    position: int | None = None


@dataclass(frozen=True)
class DisputeTypePatch:
    """Changes to a type (the body of ``PATCH /api/dispute-types/{key}``); None = keep."""

    label_zh: str | None = field(default=None, metadata={"max_length": 50})
    label_en: str | None = field(default=None, metadata={"max_length": 50})
    active: bool | None = None
    position: int | None = None


def _def(row: CaseDisputeTypeRow) -> DisputeTypeDef:
    return DisputeTypeDef(
        row.key,
        row.label_zh,
        row.label_en,
        DisputeType(row.ledger_column),
        row.active,
        row.position,
    )


async def load_catalogue(session: AsyncSession) -> DisputeTypeCatalogue:
    """The configured types as they are in ``session``'s transaction."""
    return DisputeTypeCatalogue.of(
        _def(r) for r in await session.scalars(select(CaseDisputeTypeRow))
    )


def _position(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= _MAX_POSITION:
        raise InvalidCaseInputError(f"position must be between 0 and {_MAX_POSITION}")
    return value


class DisputeTypes:
    """The configured dispute-type list (纠纷类型设置)."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self._clock = clock

    async def catalogue(self, actor: Principal) -> DisputeTypeCatalogue:
        """Every configured type, active or not, in display order."""
        if not (
            actor.kind == "system"
            or actor.has(Permission.CASE_READ)
            or actor.has(Permission.LEDGER_READ)
        ):
            raise PermissionDeniedError(
                f"your role ({actor.role}) does not allow reading cases or ledgers",
                code="role_forbidden",
            )
        async with self.db.transaction() as session:
            return await load_catalogue(session)

    def can_configure(self, actor: Principal) -> bool:
        try:
            self._authorize(actor)
        except PermissionDeniedError:
            return False
        return True

    def _authorize(self, actor: Principal) -> str:
        """The county unit the caller administers, or :class:`PermissionDeniedError`."""
        if actor.kind == "system":
            return actor.unit_code[:6] + "000000"
        if level_of(actor.unit_code) is not Level.COUNTY:
            raise PermissionDeniedError(
                "the dispute-type list is county-wide; ask an administrator of the county",
                code="county_admin_required",
            )
        authorize(actor, Permission.ORG_MANAGE, actor.unit_code)
        return actor.unit_code

    async def create(self, actor: Principal, data: DisputeTypeInput) -> DisputeTypeDef:
        """Add a local type, active, mapped to a standard ledger column."""
        county = self._authorize(actor)
        key = validate_type_key(data.key)
        label_zh = validate_type_label(data.label_zh, "label_zh")
        label_en = validate_type_label(data.label_en, "label_en", required=False)
        column = parse_choice(DisputeType, data.ledger_column, field="ledger_column")
        position = _position(data.position)
        async with self.db.transaction() as session:
            if await session.get(CaseDisputeTypeRow, key) is not None:
                raise DisputeTypeExistsError(
                    f"dispute type {key!r} already exists; rename or reactivate it instead"
                )
            if position is None:
                last = await session.scalar(select(func.max(CaseDisputeTypeRow.position)))
                position = min((last or 0) + 10, _MAX_POSITION)
            row = CaseDisputeTypeRow(
                key=key,
                label_zh=label_zh,
                label_en=label_en,
                ledger_column=column.value,
                active=True,
                position=position,
                updated_by=actor.actor,
                updated_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            await record(
                session,
                actor,
                "case.dispute_type.create",
                object_type="dispute_type",
                object_id=key,
                unit_code=county,
                detail={
                    "label_zh": label_zh,
                    "label_en": label_en,
                    "ledger_column": column.value,
                    "position": position,
                },
            )
            return _def(row)

    async def update(self, actor: Principal, key: str, data: DisputeTypePatch) -> DisputeTypeDef:
        """Rename, reorder, deactivate or reactivate a type; its ledger column never changes."""
        county = self._authorize(actor)
        changes: dict[str, object] = {}
        if data.label_zh is not None:
            changes["label_zh"] = validate_type_label(data.label_zh, "label_zh")
        if data.label_en is not None:
            changes["label_en"] = validate_type_label(data.label_en, "label_en", required=False)
        if data.active is not None:
            changes["active"] = data.active
        if data.position is not None:
            changes["position"] = _position(data.position)
        if not changes:
            raise InvalidCaseInputError(
                "nothing to change; give label_zh, label_en, active or position"
            )
        async with self.db.transaction() as session:
            row = await session.get(CaseDisputeTypeRow, key)
            if row is None:
                raise DisputeTypeNotFoundError(
                    f"no dispute type {key!r}; GET /api/dispute-types lists them"
                )
            if changes.get("active") is False and row.active:
                others = await session.scalar(
                    select(func.count())
                    .select_from(CaseDisputeTypeRow)
                    .where(CaseDisputeTypeRow.active.is_(True), CaseDisputeTypeRow.key != key)
                )
                if not others:
                    raise InvalidCaseInputError(
                        "intake needs at least one active dispute type; activate another first"
                    )
            before = {name: getattr(row, name) for name in changes}
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_by = actor.actor
            row.updated_at = self._clock()
            await record(
                session,
                actor,
                "case.dispute_type.update",
                object_type="dispute_type",
                object_id=key,
                unit_code=county,
                detail={"before": before, "after": changes},
            )
            return _def(row)
