"""The monthly ledger, the yearly KPI and the month trend, aggregated in SQL.

The pure core (:func:`cases._ledger.compute_ledger`, :func:`cases._kpi.petition_kpi`) defines
every number; replaying it case by case is exact but needs every active case's history in
Python, which is too slow for a county-year (100k cases).  These queries compute the same
numbers with ``GROUP BY``: ``tests/cases/test_service_reports.py`` compares both on a
seeded database.  Why the translation is exact:

* China-time dates become UTC instants: "``china_date(x)`` in [start, end]" is
  ``x >= midnight(start) AND x < midnight(end + 1)`` with China midnights.
* The stage a case has reached at the end of the period is 包案 if the leader took charge
  before the end, else the highest level it was reported to before the end, else the
  level of its receiving unit (escalations only go up, so "highest" is "last").
* A closed case's stage at closure is its *current* stage: a closure comes after every
  event of the history (``CaseFacts`` refuses anything else), and the service keeps
  ``cases.level`` equal to the level of the last escalation.
* The KPI's per-case part (were the 3221 rules followed?) only concerns petitioned cases,
  so only those are loaded and assessed by the core; the denominator is a ``COUNT``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from sqlalchemy import String, and_, case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import SQLCoreOperations

from cases._calendar import CHINA_TZ, Month, Period, china_date, ledger_period
from cases._kpi import DEFAULT_LIMIT, PetitionedCase, PetitionKpi
from cases._ledger import LedgerConfig, MonthlyLedger, StageRow
from cases._models import CaseDisputeTypeRow, CaseEscalationRow, CaseRow
from cases._rules import RulesConfig, assess
from cases._store import ledger_column, load_snapshots
from cases._types import Channel, DisputeType, Stage
from core import Level, contains, level_of, scope_prefix

__all__ = ["TrendPoint", "china_midnight", "in_subtree", "kpi_sql", "ledger_sql", "trend_sql"]


def china_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` starts in China."""
    return datetime.combine(day, time(), CHINA_TZ).astimezone(UTC)


def in_subtree(column: SQLCoreOperations[str], unit: str) -> ColumnElement[bool]:
    """``column`` is ``unit`` or a unit under it, as an index-friendly range.

    Codes are fixed-width digit strings, so the subtree of prefix ``p`` is the range
    ``[p, p + 1)``; unlike ``LIKE 'p%'`` a range uses the B-tree index on SQLite too.
    """
    prefix = scope_prefix(unit)
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return and_(column >= prefix, column < upper)


def _rank(column: SQLCoreOperations[str]) -> ColumnElement[int]:
    return case(
        (column == Level.COUNTY.value, Level.COUNTY.rank),
        (column == Level.TOWNSHIP.value, Level.TOWNSHIP.rank),
        else_=Level.VILLAGE.rank,
    )


def _start_level(code: SQLCoreOperations[str]) -> ColumnElement[str]:
    return case(
        (func.substr(code, 7, 6) == "000000", Level.COUNTY.value),
        (func.substr(code, 10, 3) == "000", Level.TOWNSHIP.value),
        else_=Level.VILLAGE.value,
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def ledger_sql(
    session: AsyncSession,
    unit: str,
    month: Month,
    *,
    as_of: date | None = None,
    child_units: Iterable[str] = (),
    config: LedgerConfig | None = None,
) -> MonthlyLedger:
    """Same result as :func:`cases._ledger.compute_ledger` over the unit's subtree."""
    config = config or LedgerConfig()
    full = ledger_period(month, config.cutoff_day)
    end = full.end if as_of is None else min(full.end, as_of)
    period = Period(full.start, end)
    ps, pe = china_midnight(period.start), china_midnight(end + timedelta(days=1))
    overdue_cut = china_midnight(end - timedelta(days=config.overdue_days))
    rank = level_of(unit).rank
    c, tr = CaseRow, CaseDisputeTypeRow
    active = and_(
        in_subtree(c.receiving_unit, unit),
        c.received_at < pe,
        or_(c.closed_at.is_(None), c.closed_at >= ps),
    )

    e = CaseEscalationRow
    reached = (
        select(e.case_id, func.min(_rank(e.to_level)).label("top"))
        .where(e.at < pe)
        .group_by(e.case_id)
        .subquery()
    )
    stage = case(
        (c.leader_at < pe, Stage.COUNTY_LEADER.value),
        (reached.c.top == Level.COUNTY.rank, Stage.COUNTY.value),
        (reached.c.top == Level.TOWNSHIP.rank, Stage.TOWNSHIP.value),
        else_=_start_level(c.receiving_unit),
    ).label("stage")
    if level_of(unit) is Level.COUNTY:
        township_of = type_coerce(func.substr(c.receiving_unit, 1, 9), String).concat("000")
        row_unit = case(
            (_start_level(c.receiving_unit) == Level.VILLAGE.value, township_of),
            else_=c.receiving_unit,
        ).label("row_unit")
    else:
        row_unit = c.receiving_unit.label("row_unit")
    closed_in = c.closed_at < pe
    here = and_(closed_in, _rank(c.level) >= rank)
    grouped = (
        select(
            row_unit,
            stage,
            c.dispute_type,
            tr.ledger_column,
            c.channel,
            func.count().label("n"),
            _count_if(c.received_at >= ps).label("received"),
            _count_if(closed_in).label("closed"),
            _count_if(here).label("closed_here"),
            _count_if(and_(here, c.closure_resolved.is_(True))).label("resolved_here"),
            _count_if(
                and_(or_(c.closed_at.is_(None), c.closed_at >= pe), c.received_at < overdue_cut)
            ).label("overdue"),
            _count_if(and_(c.petitioned_at >= ps, c.petitioned_at < pe)).label("petitions"),
        )
        .select_from(c)
        .outerjoin(reached, reached.c.case_id == c.id)
        # Outer: a case whose type row is missing must fail loudly, not drop out of the counts.
        .outerjoin(tr, tr.key == c.dispute_type)
        .where(active)
        .group_by(row_unit, stage, c.dispute_type, tr.ledger_column, c.channel)
    )
    by_type: Counter[DisputeType] = Counter()
    by_channel: Counter[Channel] = Counter()
    rows: dict[str, Counter[Stage]] = {unit: Counter()}
    for child in child_units:
        if child == unit or not contains(unit, child):
            raise ValueError(f"{child} is not a unit under {unit}")
        rows[child] = Counter()
    totals: Counter[str] = Counter()
    for r in await session.execute(grouped):
        for key in ("n", "received", "closed", "closed_here", "resolved_here", "overdue"):
            totals[key] += int(getattr(r, key))
        totals["petitions"] += int(r.petitions)
        by_type[ledger_column(r.dispute_type, r.ledger_column)] += int(r.received)
        by_channel[Channel(r.channel)] += int(r.received)
        rows.setdefault(r.row_unit, Counter())[Stage(r.stage)] += int(r.n)

    up = and_(_rank(e.from_level) >= rank, _rank(e.to_level) < rank)
    moves = (
        await session.execute(
            select(_count_if(up), _count_if(_rank(e.to_level) == rank))
            .select_from(e)
            .join(c, c.id == e.case_id)
            .where(active, e.at >= ps, e.at < pe)
        )
    ).one()
    escalated_up, escalations_received = int(moves[0] or 0), int(moves[1] or 0)

    concluded = totals["closed_here"] + escalated_up
    return MonthlyLedger(
        unit=unit,
        month=month,
        period=period,
        overdue_days=config.overdue_days,
        received=totals["received"],
        by_type={t: by_type[t] for t in DisputeType},
        by_channel={ch: by_channel[ch] for ch in Channel},
        open_at_start=totals["n"] - totals["received"],
        active=totals["n"],
        closed=totals["closed"],
        closed_here=totals["closed_here"],
        resolved_here=totals["resolved_here"],
        escalated_up=escalated_up,
        escalations_received=escalations_received,
        concluded_here=concluded,
        success_rate=totals["resolved_here"] / concluded if concluded else None,
        stages=tuple(
            StageRow(code, {s: counts[s] for s in Stage}, sum(counts.values()))
            for code, counts in sorted(rows.items(), key=lambda kv: (kv[0] != unit, kv[0]))
        ),
        overdue=totals["overdue"],
        petitions=totals["petitions"],
    )


async def kpi_sql(
    session: AsyncSession,
    unit: str,
    year: int,
    *,
    now: datetime,
    limit: Fraction = DEFAULT_LIMIT,
    rules: RulesConfig | None = None,
) -> PetitionKpi:
    """Same result as :func:`cases._kpi.petition_kpi` over the unit's subtree."""
    if not 0 < limit <= 1:
        raise ValueError(f"petition limit {limit} must be a share in (0, 1]")
    start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
    stop = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
    cut = min(now, stop - timedelta(microseconds=1))
    c = CaseRow
    of_year = (
        in_subtree(c.receiving_unit, unit),
        c.received_at >= start,
        c.received_at < stop,
        c.received_at <= cut,
    )
    total = int(await session.scalar(select(func.count()).select_from(c).where(*of_year)) or 0)
    snapshots = await load_snapshots(
        session, *of_year, c.petitioned_at.is_not(None), c.petitioned_at <= cut
    )
    petitioned = []
    for snap in snapshots:
        assert snap.petitioned_at is not None  # selected above
        flags = assess(snap.facts.as_of(cut), now=cut, config=rules).flags
        petitioned.append(
            PetitionedCase(snap.case_id, snap.number, china_date(snap.petitioned_at), flags)
        )
    petitioned.sort(key=lambda p: (p.petitioned_on, p.number))
    return PetitionKpi(unit, year, total, tuple(petitioned), limit)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """Cases received and closed in the ledger period of one month."""

    month: Month
    received: int
    closed: int


async def trend_sql(
    session: AsyncSession,
    unit: str,
    months: Iterable[Month],
    *,
    as_of: date,
    config: LedgerConfig | None = None,
) -> list[TrendPoint]:
    """Received and closed per ledger month (the ledger's own period, cut at ``as_of``)."""
    config = config or LedgerConfig()
    c = CaseRow
    points = []
    for month in months:
        period = ledger_period(month, config.cutoff_day)
        end = min(period.end, as_of)
        if end < period.start:
            points.append(TrendPoint(month, 0, 0))
            continue
        ps, pe = china_midnight(period.start), china_midnight(end + timedelta(days=1))
        got = (
            await session.execute(
                select(
                    _count_if(and_(c.received_at >= ps, c.received_at < pe)),
                    _count_if(and_(c.closed_at >= ps, c.closed_at < pe)),
                ).where(
                    in_subtree(c.receiving_unit, unit),
                    or_(
                        and_(c.received_at >= ps, c.received_at < pe),
                        and_(c.closed_at >= ps, c.closed_at < pe),
                    ),
                )
            )
        ).one()
        points.append(TrendPoint(month, int(got[0] or 0), int(got[1] or 0)))
    return points
