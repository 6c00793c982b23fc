"""The monthly ledger on a seeded month, computed by hand; cross-checks; the calendar."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from cases._calendar import (
    Month,
    Period,
    ReportStatus,
    china_date,
    is_overdue,
    ledger_due_date,
    ledger_period,
    report_status,
)
from cases._facts import CaseFacts, Closure
from cases._ledger import CaseSnapshot, LedgerConfig, MonthlyLedger, compute_ledger, cross_check
from cases._types import Channel, DisputeType, Stage
from tests.cases.helpers import (
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    VILLAGE_A,
    VILLAGE_B,
    cst,
    event,
)

D, C = DisputeType, Channel
MAY = Month(2024, 5)


def snap(
    n: int,
    unit: str,
    received: datetime,
    dispute_type: DisputeType,
    channel: Channel,
    events: str = "",
    *,
    closed: tuple[str, bool] | None = None,
    petitioned: str | None = None,
    cross: bool = False,
) -> CaseSnapshot:
    """``events`` is ``"VF@2024-05-03 V>T@2024-05-11"``: token @ China date (10:00)."""
    history = tuple(
        event(tok, cst(day)) for tok, day in (item.split("@") for item in events.split())
    )
    closure = Closure(cst(closed[0], 17), closed[1]) if closed else None
    facts = CaseFacts(
        unit, received, history, frozenset({OTHER_TOWNSHIP}) if cross else frozenset(), closure
    )
    return CaseSnapshot(
        f"c{n}",
        f"{unit}-2024-{n:06d}",
        dispute_type,
        channel,
        facts,
        cst(petitioned) if petitioned else None,
    )


# The seeded township: its own window (TOWNSHIP) and villages A and B.  May 2024 runs from
# 2024-04-26 to 2024-05-25 (cutoff 25).  Each line says how the case enters the hand count.
SEEDED = [
    # received in May, resolved at the village on 05-06
    snap(1, VILLAGE_A, cst("2024-05-02"), D.NEIGHBOURHOOD, C.WINDOW,
         "VF@2024-05-03 VR@2024-05-06", closed=("2024-05-06", True)),
    # received; 3 failures, reported to the township on 05-11 (received by the township)
    snap(2, VILLAGE_A, cst("2024-05-05"), D.FAMILY, C.GRID_WORKER,
         "VF@2024-05-06 VF@2024-05-08 VF@2024-05-10 V>T@2024-05-11 TF@2024-05-15"),
    # open at start; reported to the county on 05-03 (escalated up); overdue (66 days)
    snap(3, VILLAGE_B, cst("2024-03-20"), D.LAND_FOREST, C.WINDOW,
         "VF@2024-03-21 VF@2024-03-25 VF@2024-03-30 V>T@2024-04-01 TF@2024-04-10 "
         "TF@2024-04-20 T>C@2024-05-03"),
    # received 04-28 (inside May's period) at the township window, resolved there 05-02
    snap(4, TOWNSHIP, cst("2024-04-28"), D.LABOUR, C.PHONE,
         "TF@2024-04-29 TR@2024-05-02", closed=("2024-05-02", True)),
    # closed before the period: not in this month at all
    snap(5, VILLAGE_B, cst("2024-04-20"), D.CONTRACT_DEBT, C.TRANSFER,
         closed=("2024-04-25", False)),
    # open at start, closed without agreement on the period's first day, at the village
    snap(6, VILLAGE_B, cst("2024-04-25"), D.TRAFFIC, C.WINDOW, closed=("2024-04-26", False)),
    # received after the period
    snap(7, VILLAGE_A, cst("2024-05-26"), D.OTHER, C.WINDOW),
    # received; initial petition on 05-22
    snap(8, VILLAGE_A, cst("2024-05-20"), D.MEDICAL, C.PETITION_OFFICE, petitioned="2024-05-22"),
    # open at start at the township window; petition in the period; overdue
    snap(9, TOWNSHIP, cst("2024-02-01"), D.PROPERTY, C.WINDOW, petitioned="2024-04-30"),
    # cross-township: straight to the county (escalated up), 包案, resolved by the county
    snap(10, VILLAGE_B, cst("2024-04-27"), D.CONSTRUCTION, C.GRID_WORKER,
         "V>C@2024-05-01 CFp@2024-05-10 CFd@2024-05-12 L@2024-05-14",
         closed=("2024-05-20", True), cross=True),
    # received 23:30 China time on the last day (15:30Z): still in the period
    snap(11, VILLAGE_A, datetime(2024, 5, 25, 15, 30, tzinfo=UTC), D.OTHER, C.PHONE),
    # received 2024-04-25T16:30Z = 04-26 00:30 China time: in the period; 29 days old
    snap(12, VILLAGE_A, datetime(2024, 4, 25, 16, 30, tzinfo=UTC), D.NEIGHBOURHOOD, C.WINDOW),
    # open at start, 31 days old at the end of the period: overdue
    snap(13, VILLAGE_B, cst("2024-04-24"), D.OTHER, C.WINDOW),
]  # fmt: skip


def test_seeded_township_month() -> None:
    ledger = compute_ledger(TOWNSHIP, MAY, SEEDED, child_units=[VILLAGE_A, VILLAGE_B])
    assert ledger.period == Period(date(2024, 4, 26), date(2024, 5, 25))
    # received: 1, 2, 4, 8, 10, 11, 12
    assert ledger.received == 7
    assert dict(ledger.by_type) == {
        D.NEIGHBOURHOOD: 2,  # 1, 12
        D.FAMILY: 1,
        D.LAND_FOREST: 0,
        D.LABOUR: 1,
        D.CONTRACT_DEBT: 0,
        D.CONSTRUCTION: 1,
        D.TRAFFIC: 0,
        D.MEDICAL: 1,
        D.PROPERTY: 0,
        D.OTHER: 1,  # 11
    }
    assert dict(ledger.by_channel) == {
        C.WINDOW: 2,  # 1, 12
        C.PHONE: 2,  # 4, 11
        C.GRID_WORKER: 2,  # 2, 10
        C.TRANSFER: 0,
        C.PETITION_OFFICE: 1,  # 8
    }
    assert ledger.open_at_start == 4  # 3, 6, 9, 13
    assert ledger.active == 11
    assert ledger.closed == 4  # 1, 4, 6, 10
    assert ledger.closed_here == 3  # 1, 4, 6 (10 was closed by the county)
    assert ledger.resolved_here == 2  # 1, 4
    assert ledger.escalated_up == 2  # 3 (T>C), 10 (V>C)
    assert ledger.escalations_received == 1  # 2 (V>T)
    assert ledger.concluded_here == 5
    assert ledger.success_rate == pytest.approx(2 / 5)
    assert ledger.open_at_end == 7  # 2, 3, 8, 9, 11, 12, 13
    assert ledger.overdue == 3  # 3, 9, 13 (12 is 29 days old)
    assert ledger.petitions == 2  # 8, 9
    rows = {row.unit: (dict(row.counts), row.total) for row in ledger.stages}
    assert [row.unit for row in ledger.stages] == [TOWNSHIP, VILLAGE_A, VILLAGE_B]
    s = Stage
    assert rows[TOWNSHIP] == ({s.VILLAGE: 0, s.TOWNSHIP: 2, s.COUNTY: 0, s.COUNTY_LEADER: 0}, 2)
    assert rows[VILLAGE_A] == ({s.VILLAGE: 4, s.TOWNSHIP: 1, s.COUNTY: 0, s.COUNTY_LEADER: 0}, 5)
    assert rows[VILLAGE_B] == ({s.VILLAGE: 2, s.TOWNSHIP: 0, s.COUNTY: 1, s.COUNTY_LEADER: 1}, 4)
    assert cross_check(ledger) == []


def test_seeded_village_month() -> None:
    cases = [c for c in SEEDED if c.unit == VILLAGE_A]
    ledger = compute_ledger(VILLAGE_A, MAY, cases)
    assert ledger.received == 5  # 1, 2, 8, 11, 12
    assert (ledger.open_at_start, ledger.active, ledger.closed) == (0, 5, 1)
    assert (ledger.closed_here, ledger.resolved_here) == (1, 1)  # 1
    assert (ledger.escalated_up, ledger.escalations_received) == (1, 0)  # 2 to the township
    assert ledger.success_rate == pytest.approx(1 / 2)
    assert (ledger.overdue, ledger.petitions) == (0, 1)
    (row,) = ledger.stages
    assert row.unit == VILLAGE_A and row.counts[Stage.VILLAGE] == 4 and row.total == 5
    assert cross_check(ledger) == []


def test_month_still_running() -> None:
    ledger = compute_ledger(TOWNSHIP, MAY, SEEDED, as_of=date(2024, 5, 10))
    assert ledger.period.end == date(2024, 5, 10)
    assert ledger.received == 5  # 1, 2, 4, 10, 12
    assert ledger.closed == 3  # 1, 4, 6; 10 closes on 05-20
    assert (ledger.escalated_up, ledger.escalations_received) == (2, 0)  # 2 goes up on 05-11
    assert cross_check(ledger) == []


def test_county_month_rows_are_townships() -> None:
    ledger = compute_ledger(COUNTY, MAY, SEEDED)
    assert [row.unit for row in ledger.stages] == [COUNTY, TOWNSHIP]
    assert ledger.escalated_up == 0
    assert ledger.escalations_received == 2  # 3 (T>C) and 10 (V>C)
    assert ledger.closed_here == ledger.closed == 4
    assert cross_check(ledger) == []


def test_calendar_month_option() -> None:
    config = LedgerConfig(cutoff_day=None)
    ledger = compute_ledger(TOWNSHIP, MAY, SEEDED, config=config)
    assert ledger.period == Period(date(2024, 5, 1), date(2024, 5, 31))
    assert ledger.received == 5  # 1, 2, 7, 8, 11
    assert cross_check(ledger) == []


def test_case_outside_the_subtree_is_refused() -> None:
    with pytest.raises(ValueError, match="outside unit"):
        compute_ledger(VILLAGE_B, MAY, SEEDED)
    with pytest.raises(ValueError, match="not a unit under"):
        compute_ledger(TOWNSHIP, MAY, [], child_units=[OTHER_TOWNSHIP])


def _seeded() -> MonthlyLedger:
    return compute_ledger(TOWNSHIP, MAY, SEEDED)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"received": 8}, ["sum by type", "sum by channel", "active"], id="received"),
        pytest.param({"open_at_start": 5}, ["active"], id="open-at-start"),
        pytest.param({"closed_here": 5}, ["closed here (5) exceeds closed", "concluded"], id="ch"),
        pytest.param({"resolved_here": 4}, ["resolved here", "success rate"], id="resolved"),
        pytest.param({"success_rate": 0.5}, ["success rate"], id="rate"),
        pytest.param({"overdue": 8}, ["overdue"], id="overdue"),
        pytest.param({"closed": 12}, ["closed (12) exceeds active", "overdue"], id="closed"),
        pytest.param({"escalations_received": -1}, ["negative"], id="negative"),
        pytest.param(
            {"by_type": {t: 0 for t in DisputeType if t is not DisputeType.OTHER}},
            ["every dispute type", "sum by type"],
            id="missing-type",
        ),
    ],
)
def test_cross_check_catches_a_broken_ledger(
    change: dict[str, object], expected: list[str]
) -> None:
    broken = dataclasses.replace(_seeded(), **change)  # type: ignore[arg-type]
    problems = cross_check(broken)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


def test_cross_check_catches_broken_stage_rows() -> None:
    ledger = _seeded()
    row = dataclasses.replace(ledger.stages[0], total=ledger.stages[0].total + 1)
    problems = cross_check(dataclasses.replace(ledger, stages=(row, *ledger.stages[1:])))
    assert len(problems) == 2
    assert "sum of stages" in problems[0] and "stage rows" in problems[1]


def test_cross_check_level_rules() -> None:
    village = compute_ledger(VILLAGE_A, MAY, [c for c in SEEDED if c.unit == VILLAGE_A])
    assert cross_check(dataclasses.replace(village, escalations_received=1)) == [
        "a village cannot receive escalations"
    ]
    county = compute_ledger(COUNTY, MAY, SEEDED)
    assert (
        "the county cannot report"
        in cross_check(
            dataclasses.replace(county, escalated_up=1, concluded_here=county.concluded_here + 1)
        )[-1]
    )


# --- calendar ------------------------------------------------------------------------------


def test_periods_and_due_dates() -> None:
    assert ledger_period(Month(2024, 1)) == Period(date(2023, 12, 26), date(2024, 1, 25))
    assert ledger_period(Month(2024, 3), None) == Period(date(2024, 3, 1), date(2024, 3, 31))
    assert ledger_period(Month(2024, 2), None).end == date(2024, 2, 29)
    assert ledger_due_date(MAY) == date(2024, 5, 25)
    assert Month.parse("2024-05") == MAY and str(MAY) == "2024-05"
    assert Month(2024, 12).next() == Month(2025, 1) and Month(2024, 1).previous() == Month(2023, 12)
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse("2024-5")
    with pytest.raises(ValueError, match="between 1 and 12"):
        Month(2024, 13)


@pytest.mark.parametrize(
    ("submitted", "today", "status"),
    [
        (None, date(2024, 5, 24), ReportStatus.NOT_DUE),
        (None, date(2024, 5, 25), ReportStatus.DUE_TODAY),
        (None, date(2024, 5, 26), ReportStatus.OVERDUE),
        (date(2024, 5, 25), date(2024, 6, 3), ReportStatus.SUBMITTED),
        (date(2024, 5, 26), date(2024, 6, 3), ReportStatus.SUBMITTED_LATE),
    ],
)
def test_report_status(submitted: date | None, today: date, status: ReportStatus) -> None:
    assert report_status(MAY, submitted_on=submitted, today=today) is status
    assert is_overdue(MAY, submitted_on=submitted, today=today) is (status is ReportStatus.OVERDUE)


def test_china_date() -> None:
    assert china_date(datetime(2024, 5, 31, 16, 0, tzinfo=UTC)) == date(2024, 6, 1)
    assert china_date(datetime(2024, 5, 31, 15, 59, tzinfo=UTC)) == date(2024, 5, 31)
    with pytest.raises(ValueError, match="naive"):
        china_date(datetime(2024, 5, 31))
