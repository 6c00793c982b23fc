"""Every ledger computed from any possible set of cases passes its own cross-checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cases._calendar import Month
from cases._facts import CaseFacts, Closure, Escalation, Event, LeaderCharge, Session
from cases._kpi import petition_kpi
from cases._ledger import CaseSnapshot, LedgerConfig, compute_ledger, cross_check
from cases._types import Channel, DisputeType, MediatorKind, Outcome
from core._units import Level, level_of
from tests.cases.helpers import COUNTY, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE_A, VILLAGE_B

BASE = datetime(2024, 3, 1, tzinfo=UTC)
UNITS = [COUNTY, TOWNSHIP, VILLAGE_A, VILLAGE_B]


@st.composite
def snapshots(draw: st.DrawFn, n: int) -> CaseSnapshot:
    unit = draw(st.sampled_from(UNITS))
    at = BASE + timedelta(hours=draw(st.integers(0, 24 * 120)))
    received = at
    level, leader = level_of(unit), False
    history: list[Event] = []
    for _ in range(draw(st.integers(0, 8))):
        at += timedelta(hours=draw(st.integers(0, 24 * 10)))
        step = draw(st.sampled_from(["session", "session", "up", "leader"]))
        if step == "up" and level is not Level.COUNTY:
            target = draw(st.sampled_from([lv for lv in Level if lv.rank < level.rank]))
            history.append(Escalation(at, level, target, "clerk"))
            level = target
        elif step == "leader" and level is Level.COUNTY and not leader:
            history.append(LeaderCharge(at, "县领导", "admin"))
            leader = True
        else:
            outcome = draw(st.sampled_from(list(Outcome)))
            history.append(Session(at, level, outcome, draw(st.sampled_from(list(MediatorKind)))))
    closure = None
    if draw(st.booleans()):
        closure = Closure(at + timedelta(hours=draw(st.integers(0, 24 * 20))), draw(st.booleans()))
    petitioned = None
    if draw(st.booleans()):
        petitioned = received + timedelta(hours=draw(st.integers(0, 24 * 90)))
    cross = frozenset({OTHER_TOWNSHIP}) if draw(st.booleans()) else frozenset()
    return CaseSnapshot(
        f"c{n}",
        f"{unit}-2024-{n:06d}",
        draw(st.sampled_from(list(DisputeType))),
        draw(st.sampled_from(list(Channel))),
        CaseFacts(unit, received, tuple(history), cross, closure),
        petitioned,
    )


@st.composite
def case_sets(draw: st.DrawFn) -> list[CaseSnapshot]:
    return [draw(snapshots(i)) for i in range(draw(st.integers(0, 30)))]


@settings(max_examples=100, deadline=None)
@given(
    cases=case_sets(),
    month=st.sampled_from([Month(2024, m) for m in range(3, 8)]),
    cutoff=st.sampled_from([25, None, 20]),
)
def test_ledgers_always_cross_check(
    cases: list[CaseSnapshot], month: Month, cutoff: int | None
) -> None:
    config = LedgerConfig(cutoff_day=cutoff)
    county = compute_ledger(COUNTY, month, cases, config=config)
    township = compute_ledger(
        TOWNSHIP, month, [c for c in cases if c.unit != COUNTY], config=config
    )
    village = compute_ledger(
        VILLAGE_A, month, [c for c in cases if c.unit == VILLAGE_A], config=config
    )
    for ledger in (county, township, village):
        assert cross_check(ledger) == [], ledger
    # the subtree sums: what the township received includes what each village received
    assert township.received >= village.received
    assert county.received >= township.received
    # cases leaving the village upwards arrive at the township or straight at the county
    assert village.escalated_up <= township.escalations_received + county.escalations_received


@settings(max_examples=50, deadline=None)
@given(cases=case_sets())
def test_kpi_is_consistent(cases: list[CaseSnapshot]) -> None:
    kpi = petition_kpi(COUNTY, 2024, cases, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert 0 <= kpi.petitioned <= kpi.cases == len(cases)
    assert kpi.within_limit is (kpi.petitioned * 10 <= kpi.cases)
    assert kpi.penalised is (not kpi.within_limit and kpi.not_followed > 0)
