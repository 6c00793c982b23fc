"""The monthly dispute ledger (社会矛盾纠纷排查化解综合台账) as a pure computation.

Input: snapshots of the cases *received in the subtree* of one unit (the unit and all units
under it) and a month; output: one :class:`MonthlyLedger`.  Every column is defined here,
once, so that the page, the CSV/XLSX export and the frozen snapshot agree:

* The **period** of month M is :func:`cases._calendar.ledger_period` (by default the 26th
  of M-1 to the 25th of M, so the report can be complete on its due day, M-25), cut at
  ``as_of`` for a month still running.  Dates are China-time dates.
* **received**: cases received in the period; **by type** and **by channel** split them.
  "By type" has the ten standard columns; a locally configured type counts under the
  column it is mapped to (:mod:`cases._dispute_types`).
* **open at start**: received before the period and not closed before it;
  **active** = open at start + received; **closed**: closed (办结销号) in the period;
  **open at end** = active − closed.
* **closed here**: closed while held by the unit or a unit under it (not after being
  reported above it); **resolved here**: those of them closed as resolved (化解).
* **escalated up**: cases reported in the period from the unit's subtree to a level above
  the unit; **escalations received**: cases reported in the period to the unit's own level
  from below (always 0 for a village).
* **success rate** = resolved here / (closed here + escalated up): of the cases that left the
  unit's hands in the period, the share that left resolved.  ``None`` when none left.
* **3221 stages**: the active cases by the stage they had reached at the end of the period,
  one row for the unit itself (cases received at its own window) and one per unit
  directly under it (a township's villages; the county's townships with their villages).
* **overdue**: open at the end of the period and received more than ``overdue_days``
  (default 30) days before it: a dispute that has not been closed within a month.
* **petitions**: cases whose initial petition (初信初访) was filed in the period.

A snapshot describes the case as it is known now; a case closed and then reopened counts
as open.  That is why a submitted month is frozen by the persistence layer, not recomputed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from cases._calendar import Month, Period, china_date, ledger_period
from cases._facts import CaseFacts, Escalation
from cases._types import Channel, DisputeType, Stage
from core import Level, contains, level_of

__all__ = [
    "CaseSnapshot",
    "LedgerConfig",
    "MonthlyLedger",
    "StageRow",
    "compute_ledger",
    "cross_check",
    "row_unit",
]


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """What the ledger and the KPI need to know about one case."""

    case_id: str
    number: str
    dispute_type: DisputeType  # the ledger column of the case's configured type
    channel: Channel
    facts: CaseFacts
    petitioned_at: datetime | None = None  # the initial petition (初信初访), if any

    @property
    def unit(self) -> str:
        return self.facts.unit

    @property
    def received_on(self) -> date:
        return china_date(self.facts.received_at)


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    overdue_days: int = 30
    cutoff_day: int | None = 25  # last day of the statistical month; None = calendar month

    def __post_init__(self) -> None:
        if self.overdue_days < 1:
            raise ValueError("LedgerConfig.overdue_days must be at least 1")


@dataclass(frozen=True, slots=True)
class StageRow:
    """Active cases of one origin unit by 3221 stage."""

    unit: str
    counts: Mapping[Stage, int]
    total: int


@dataclass(frozen=True, slots=True)
class MonthlyLedger:
    unit: str
    month: Month
    period: Period  # already cut at as_of
    overdue_days: int
    received: int
    by_type: Mapping[DisputeType, int]
    by_channel: Mapping[Channel, int]
    open_at_start: int
    active: int
    closed: int
    closed_here: int
    resolved_here: int
    escalated_up: int
    escalations_received: int
    concluded_here: int
    success_rate: float | None
    stages: tuple[StageRow, ...]
    overdue: int
    petitions: int

    @property
    def open_at_end(self) -> int:
        return self.active - self.closed


def row_unit(ledger_unit: str, case_unit: str) -> str:
    """The stage-table row a case received at ``case_unit`` belongs to (see module doc)."""
    if case_unit == ledger_unit:
        return ledger_unit
    if level_of(ledger_unit) is Level.COUNTY and level_of(case_unit) is Level.VILLAGE:
        return case_unit[:9] + "000"
    return case_unit


def _held_rank(stage: Stage) -> int:
    """Rank of the level holding a case at ``stage`` (包案 is held by the county)."""
    return Level.COUNTY.rank if stage is Stage.COUNTY_LEADER else Level(stage.value).rank


def compute_ledger(
    unit: str,
    month: Month,
    cases: Iterable[CaseSnapshot],
    *,
    as_of: date | None = None,
    child_units: Iterable[str] = (),
    config: LedgerConfig | None = None,
) -> MonthlyLedger:
    """Compute the ledger of ``unit`` for ``month`` from the cases received in its subtree.

    ``child_units`` are the units directly under ``unit``; each gets a stage row even when
    it has no case.  Raises ``ValueError`` for a case outside the unit's subtree, so that a
    wrong query cannot silently change the numbers.
    """
    config = config or LedgerConfig()
    full = ledger_period(month, config.cutoff_day)
    end = full.end if as_of is None else min(full.end, as_of)
    period = Period(full.start, end)
    rank = level_of(unit).rank

    received: list[CaseSnapshot] = []
    active: list[CaseSnapshot] = []
    open_at_start = closed = closed_here = resolved_here = overdue = petitions = 0
    escalated_up = escalations_received = 0
    rows: dict[str, Counter[Stage]] = {unit: Counter()}
    for child in child_units:
        if child == unit or not contains(unit, child):
            raise ValueError(f"{child} is not a unit under {unit}")
        rows[child] = Counter()

    for case in cases:
        if not contains(unit, case.unit):
            raise ValueError(
                f"case {case.number} was received at {case.unit}, outside unit {unit}; "
                "pass only the cases of the unit's subtree"
            )
        received_on = case.received_on
        if received_on > end:
            continue
        closure = case.facts.closure
        closed_on = china_date(closure.at) if closure is not None else None
        if closed_on is not None and closed_on > end:
            closed_on = None  # closed after the period: open as far as the period knows
        if closed_on is not None and closed_on < period.start:
            continue
        if received_on >= period.start:
            received.append(case)
        else:
            open_at_start += 1
        active.append(case)

        if closure is not None and closed_on is not None:
            closed += 1
            if _held_rank(case.facts.stage_on(closed_on)) >= rank:
                closed_here += 1
                if closure.resolved:
                    resolved_here += 1
        elif (end - received_on).days > config.overdue_days:
            overdue += 1

        for event in case.facts.history:
            if not isinstance(event, Escalation) or china_date(event.at) not in period:
                continue
            if event.from_level.rank >= rank > event.to_level.rank:
                escalated_up += 1
            elif event.to_level.rank == rank:
                escalations_received += 1

        if case.petitioned_at is not None and china_date(case.petitioned_at) in period:
            petitions += 1
        rows.setdefault(row_unit(unit, case.unit), Counter())[case.facts.stage_on(end)] += 1

    concluded = closed_here + escalated_up
    by_type = Counter(c.dispute_type for c in received)
    by_channel = Counter(c.channel for c in received)
    stage_rows = tuple(
        StageRow(code, {s: counts[s] for s in Stage}, sum(counts.values()))
        for code, counts in sorted(rows.items(), key=lambda kv: (kv[0] != unit, kv[0]))
    )
    return MonthlyLedger(
        unit=unit,
        month=month,
        period=period,
        overdue_days=config.overdue_days,
        received=len(received),
        by_type={t: by_type[t] for t in DisputeType},
        by_channel={c: by_channel[c] for c in Channel},
        open_at_start=open_at_start,
        active=len(active),
        closed=closed,
        closed_here=closed_here,
        resolved_here=resolved_here,
        escalated_up=escalated_up,
        escalations_received=escalations_received,
        concluded_here=concluded,
        success_rate=resolved_here / concluded if concluded else None,
        stages=stage_rows,
        overdue=overdue,
        petitions=petitions,
    )


def cross_check(ledger: MonthlyLedger) -> list[str]:
    """The identities between the columns that ``ledger`` violates (empty when consistent).

    Run on every computed ledger before it is shown or frozen, and on every stored or
    imported one: a violation means a bug or a tampered snapshot.
    """
    problems: list[str] = []

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    counts = {
        "received": ledger.received,
        "open_at_start": ledger.open_at_start,
        "active": ledger.active,
        "closed": ledger.closed,
        "closed_here": ledger.closed_here,
        "resolved_here": ledger.resolved_here,
        "escalated_up": ledger.escalated_up,
        "escalations_received": ledger.escalations_received,
        "overdue": ledger.overdue,
        "petitions": ledger.petitions,
    }
    for name, value in counts.items():
        need(value >= 0, f"{name} is negative ({value})")
    need(
        set(ledger.by_type) == set(DisputeType),
        "by type must list every dispute type, with 0 for none",
    )
    need(set(ledger.by_channel) == set(Channel), "by channel must list every channel")
    need(
        sum(ledger.by_type.values()) == ledger.received,
        f"sum by type ({sum(ledger.by_type.values())}) != received ({ledger.received})",
    )
    need(
        sum(ledger.by_channel.values()) == ledger.received,
        f"sum by channel ({sum(ledger.by_channel.values())}) != received ({ledger.received})",
    )
    need(
        ledger.active == ledger.open_at_start + ledger.received,
        f"active ({ledger.active}) != open at start ({ledger.open_at_start}) "
        f"+ received ({ledger.received})",
    )
    need(
        ledger.closed <= ledger.active,
        f"closed ({ledger.closed}) exceeds active ({ledger.active})",
    )
    need(
        ledger.closed_here <= ledger.closed,
        f"closed here ({ledger.closed_here}) exceeds closed ({ledger.closed})",
    )
    need(
        ledger.resolved_here <= ledger.closed_here,
        f"resolved here ({ledger.resolved_here}) exceeds closed here ({ledger.closed_here})",
    )
    need(
        ledger.concluded_here == ledger.closed_here + ledger.escalated_up,
        f"concluded here ({ledger.concluded_here}) != closed here ({ledger.closed_here}) "
        f"+ escalated up ({ledger.escalated_up})",
    )
    if ledger.concluded_here == 0:
        need(ledger.success_rate is None, "success rate given although nothing was concluded")
    else:
        expected = ledger.resolved_here / ledger.concluded_here
        need(
            ledger.success_rate is not None and math.isclose(ledger.success_rate, expected),
            f"success rate ({ledger.success_rate}) != resolved here / concluded here "
            f"({ledger.resolved_here}/{ledger.concluded_here})",
        )
    stage_total = 0
    for row in ledger.stages:
        need(
            sum(row.counts.values()) == row.total,
            f"stage row {row.unit}: sum of stages ({sum(row.counts.values())}) "
            f"!= total ({row.total})",
        )
        stage_total += row.total
    need(
        stage_total == ledger.active,
        f"sum of 3221 stage rows ({stage_total}) != active ({ledger.active})",
    )
    need(
        ledger.overdue <= ledger.open_at_end,
        f"overdue ({ledger.overdue}) exceeds open at end ({ledger.open_at_end})",
    )
    level = level_of(ledger.unit)
    if level is Level.VILLAGE:
        need(ledger.escalations_received == 0, "a village cannot receive escalations")
    if level is Level.COUNTY:
        need(ledger.escalated_up == 0, "the county cannot report cases further up")
    return problems
