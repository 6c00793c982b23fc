"""Monthly ledgers (台账), their frozen submissions, the due/overdue board and the yearly KPI.

A submitted ledger is stored as canonical JSON with its SHA-256 and never edited: a
correction is a new version with a reason.  Every stored version is read back through
:func:`cases._views.ledger_from_json`, re-hashed and cross-checked, so a tampered
snapshot is reported instead of shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases._calendar import Month, ReportStatus, china_date, ledger_period, report_status
from cases._errors import InvalidCaseInputError, LedgerNotReadyError
from cases._kpi import DEFAULT_LIMIT, PetitionKpi
from cases._ledger import LedgerConfig, MonthlyLedger, cross_check
from cases._models import LedgerSnapshotRow
from cases._report_sql import TrendPoint, in_subtree, kpi_sql, ledger_sql, trend_sql
from cases._rules import RulesConfig
from cases._views import LedgerSnapshot, ledger_from_json, ledger_to_json
from core import (
    ConflictError,
    Database,
    Level,
    NotFoundError,
    Permission,
    Principal,
    Unit,
    authorize,
    record,
    utcnow,
)

__all__ = ["LedgerInconsistentError", "LedgerService", "ReportRow"]

_MIN_REASON = 4


class LedgerInconsistentError(RuntimeError):
    """A computed or stored ledger breaks its own cross-checks: a bug or tampering."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One unit's monthly report on the due/overdue board."""

    unit: str
    name: str
    level: str
    status: ReportStatus
    due: date
    submitted_on: date | None
    versions: int


class LedgerService:
    def __init__(
        self,
        db: Database,
        *,
        rules: RulesConfig | None = None,
        config: LedgerConfig | None = None,
        due_day: int = 25,
        limit: Fraction = DEFAULT_LIMIT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.rules = rules or RulesConfig()
        self.config = config or LedgerConfig()
        self.due_day = due_day
        self.limit = limit
        self._clock = clock

    def today(self) -> date:
        return china_date(self._clock())

    async def ledger(self, actor: Principal, unit: str, month: Month) -> MonthlyLedger:
        """The live ledger of ``unit`` for ``month`` (cut at today while the month runs)."""
        authorize(actor, Permission.LEDGER_READ, unit)
        async with self.db.transaction() as session:
            return await self._compute(session, unit, month)

    async def _compute(self, session: AsyncSession, unit: str, month: Month) -> MonthlyLedger:
        if await session.get(Unit, unit) is None:
            raise NotFoundError(f"no unit {unit}", code="unit_not_found")
        children = await session.scalars(select(Unit.code).where(Unit.parent_code == unit))
        ledger = await ledger_sql(
            session, unit, month, as_of=self.today(), child_units=list(children), config=self.config
        )
        problems = cross_check(ledger)
        if problems:
            raise LedgerInconsistentError(f"ledger {unit} {month}: {'; '.join(problems)}")
        return ledger

    async def submit(
        self, actor: Principal, unit: str, month: Month, reason: str = ""
    ) -> LedgerSnapshot:
        """Freeze the ledger as the next version; versions after the first need a reason."""
        authorize(actor, Permission.LEDGER_SUBMIT, unit)
        end = ledger_period(month, self.config.cutoff_day).end
        if self.today() < end:
            raise LedgerNotReadyError(
                f"the ledger of {month} covers the period up to {end}; submit it from that day on"
            )
        why = reason.strip()
        try:
            async with self.db.transaction() as session:
                ledger = await self._compute(session, unit, month)
                latest = await session.scalar(
                    select(func.max(LedgerSnapshotRow.version)).where(
                        LedgerSnapshotRow.unit_code == unit, LedgerSnapshotRow.month == str(month)
                    )
                )
                version = int(latest or 0) + 1
                if version > 1 and len(why) < _MIN_REASON:
                    raise InvalidCaseInputError(
                        f"{month} was already submitted (version {version - 1}); a correction "
                        f"is a new version and needs a reason of at least {_MIN_REASON} characters"
                    )
                payload = _canonical(ledger)
                row = LedgerSnapshotRow(
                    unit_code=unit,
                    month=str(month),
                    version=version,
                    submitted_at=self._clock(),
                    submitted_by=actor.actor,
                    reason=why,
                    payload=payload,
                    sha256=hashlib.sha256(payload.encode()).hexdigest(),
                )
                session.add(row)
                await session.flush()
                await record(
                    session,
                    actor,
                    "ledger.submit",
                    object_type="ledger",
                    object_id=f"{unit}/{month}/v{version}",
                    unit_code=unit,
                    detail={"sha256": row.sha256, "reason": why},
                )
        except IntegrityError:
            raise ConflictError(
                f"another version of {month} was submitted at the same moment; reload and retry",
                code="ledger_version_conflict",
            ) from None
        return _snapshot(row)

    async def snapshots(self, actor: Principal, unit: str, month: Month) -> list[LedgerSnapshot]:
        """Every submitted version of the month, oldest first, verified."""
        authorize(actor, Permission.LEDGER_READ, unit)
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(LedgerSnapshotRow)
                .where(LedgerSnapshotRow.unit_code == unit, LedgerSnapshotRow.month == str(month))
                .order_by(LedgerSnapshotRow.version)
            )
            return [_snapshot(r) for r in rows]

    async def kpi(self, actor: Principal, unit: str, year: int) -> PetitionKpi:
        authorize(actor, Permission.LEDGER_READ, unit)
        if not 2000 <= year <= 9999:
            raise InvalidCaseInputError(f"year {year} must be between 2000 and 9999")
        async with self.db.transaction() as session:
            if await session.get(Unit, unit) is None:
                raise NotFoundError(f"no unit {unit}", code="unit_not_found")
            return await kpi_sql(
                session, unit, year, now=self._clock(), limit=self.limit, rules=self.rules
            )

    async def trend(
        self, actor: Principal, unit: str, last: Month, count: int = 12
    ) -> list[TrendPoint]:
        authorize(actor, Permission.LEDGER_READ, unit)
        months = [last]
        while len(months) < count:
            months.insert(0, months[0].previous())
        async with self.db.transaction() as session:
            return await trend_sql(session, unit, months, as_of=self.today(), config=self.config)

    async def board(
        self, actor: Principal, month: Month, unit: str | None = None
    ) -> list[ReportRow]:
        """Townships and villages under ``unit`` (default: the actor's) with the state of
        their report for ``month``."""
        root = unit or actor.unit_code
        authorize(actor, Permission.LEDGER_READ, root)
        today = self.today()
        async with self.db.transaction() as session:
            if await session.get(Unit, root) is None:
                raise NotFoundError(f"no unit {root}", code="unit_not_found")
            units = list(
                await session.scalars(
                    select(Unit)
                    .where(in_subtree(Unit.code, root), Unit.level != Level.COUNTY.value)
                    .order_by(Unit.code)
                )
            )
            firsts = {
                r.unit_code: (r.submitted_at, r.versions)
                for r in await session.execute(
                    select(
                        LedgerSnapshotRow.unit_code,
                        func.min(LedgerSnapshotRow.submitted_at).label("submitted_at"),
                        func.count().label("versions"),
                    )
                    .where(LedgerSnapshotRow.month == str(month))
                    .group_by(LedgerSnapshotRow.unit_code)
                )
            }
        rows = []
        for row in units:
            submitted_at, versions = firsts.get(row.code, (None, 0))
            submitted_on = china_date(submitted_at) if submitted_at else None
            status = report_status(
                month, submitted_on=submitted_on, today=today, due_day=self.due_day
            )
            rows.append(
                ReportRow(
                    row.code,
                    row.name,
                    row.level,
                    status,
                    date(month.year, month.month, self.due_day),
                    submitted_on,
                    int(versions),
                )
            )
        return rows


def _canonical(ledger: MonthlyLedger) -> str:
    return json.dumps(ledger_to_json(ledger), ensure_ascii=False, sort_keys=True)


def _snapshot(row: LedgerSnapshotRow) -> LedgerSnapshot:
    if hashlib.sha256(row.payload.encode()).hexdigest() != row.sha256:
        raise LedgerInconsistentError(
            f"snapshot {row.unit_code} {row.month} v{row.version} does not match its SHA-256"
        )
    ledger = ledger_from_json(json.loads(row.payload))
    problems = cross_check(ledger)
    if problems:
        raise LedgerInconsistentError(
            f"snapshot {row.unit_code} {row.month} v{row.version}: {'; '.join(problems)}"
        )
    return LedgerSnapshot(
        id=row.id,
        unit=row.unit_code,
        month=row.month,
        version=row.version,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        reason=row.reason,
        sha256=row.sha256,
        ledger=ledger,
    )
