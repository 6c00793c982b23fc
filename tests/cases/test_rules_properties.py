"""Property tests of the 3221 rules over generated histories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from cases._errors import EscalationNotAllowed
from cases._facts import CaseFacts, Escalation, Event, LeaderCharge, Session
from cases._rules import FlagKind, RulesConfig, assess, check_escalation, check_leader_charge
from cases._types import MediatorKind, Outcome, Stage
from core._units import Level
from tests.cases.helpers import COUNTY, OTHER_TOWNSHIP, T0, TOWNSHIP, VILLAGE_A

MINUTE = timedelta(minutes=1)
CONFIG = RulesConfig()
UNITS = {Level.VILLAGE: VILLAGE_A, Level.TOWNSHIP: TOWNSHIP, Level.COUNTY: COUNTY}

outcomes = st.sampled_from(list(Outcome))
kinds = st.sampled_from(list(MediatorKind))
levels = st.sampled_from(list(Level))


def _counts(level: Level, kind: MediatorKind) -> bool:
    return level is not Level.COUNTY or kind in CONFIG.county_qualifying_kinds


@settings(max_examples=300, deadline=None)
@given(start=levels, sessions=st.lists(st.tuples(outcomes, kinds), max_size=40))
def test_compliant_process_is_never_flagged(
    start: Level, sessions: list[tuple[Outcome, MediatorKind]]
) -> None:
    """Take every due step the moment it is due: no flag, ever; each step is allowed."""
    facts = CaseFacts(UNITS[start], T0)
    at = T0
    for outcome, kind in sessions:
        now = at + MINUTE
        a = assess(facts, now=now)
        step: Event
        if a.due is not None:
            at = now
            if a.due.target is Stage.COUNTY_LEADER:
                check_leader_charge(facts, now=at)
                step = LeaderCharge(at, "县领导", "admin")
            else:
                check_escalation(facts, a.due.to_level, now=at)
                step = Escalation(at, a.level, a.due.to_level, "clerk")
            facts = CaseFacts(facts.unit, facts.received_at, (*facts.history, step))
        at += MINUTE
        session = Session(at, assess(facts, now=at).level, outcome, kind)
        facts = CaseFacts(facts.unit, facts.received_at, (*facts.history, session))
    final = assess(facts, now=at + MINUTE)
    assert final.flags == ()
    assert final.level.rank <= start.rank


@settings(max_examples=300, deadline=None)
@given(level=levels, sessions=st.lists(st.tuples(outcomes, kinds), max_size=12))
def test_due_appears_exactly_when_the_count_reaches_the_threshold(
    level: Level, sessions: list[tuple[Outcome, MediatorKind]]
) -> None:
    """At one level: due ⇔ the failures counted since the last success reach the threshold;
    one *too late* flag for every session held while it was due."""
    threshold = CONFIG.threshold(level)
    history: list[Event] = []
    run = late = 0
    for i, (outcome, kind) in enumerate(sessions):
        late += run >= threshold
        history.append(Session(T0 + (i + 1) * MINUTE, level, outcome, kind))
        if outcome.resolved:
            run = 0
        elif _counts(level, kind):
            run += 1
        facts = CaseFacts(UNITS[level], T0, tuple(history))
        a = assess(facts, now=T0 + (i + 2) * MINUTE)
        assert a.unresolved == run
        assert (a.due is not None) is (run >= threshold)
        assert [f.kind for f in a.flags] == [FlagKind.ESCALATED_TOO_LATE] * late


@st.composite
def free_histories(draw: st.DrawFn) -> tuple[CaseFacts, list[tuple[Event, bool]]]:
    """Arbitrary possible histories; for each escalation/包案, whether the checks allowed it."""
    start = draw(levels)
    cross = draw(st.booleans())
    townships = frozenset({OTHER_TOWNSHIP}) if cross else frozenset()
    facts = CaseFacts(UNITS[start], T0, townships=townships)
    decisions: list[tuple[Event, bool]] = []
    at: datetime = T0
    for _ in range(draw(st.integers(0, 25))):
        at += MINUTE
        a = assess(facts, now=at)
        action = draw(st.sampled_from(["session", "session", "up", "leader"]))
        event: Event
        if action == "up" and a.level is not Level.COUNTY:
            target = draw(st.sampled_from([lv for lv in Level if lv.rank < a.level.rank]))
            event = Escalation(at, a.level, target, "clerk")
            allowed = _allowed(partial(check_escalation, facts, target, now=at))
        elif action == "leader" and a.level is Level.COUNTY and not a.leader_in_charge:
            event = LeaderCharge(at, "县领导", "admin")
            allowed = _allowed(partial(check_leader_charge, facts, now=at))
        else:
            event = Session(at, a.level, draw(outcomes), draw(kinds))
            allowed = True
        decisions.append((event, allowed))
        facts = CaseFacts(facts.unit, T0, (*facts.history, event), townships)
    return facts, decisions


def _allowed(check: Callable[[], object]) -> bool:
    try:
        check()
    except EscalationNotAllowed:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(free_histories())
def test_checks_and_flags_agree(case: tuple[CaseFacts, list[tuple[Event, bool]]]) -> None:
    """A step the checks refuse is flagged early/skipped once recorded, and vice versa;
    the level is the start level moved by the escalations."""
    facts, decisions = case
    a = assess(facts, now=facts.history[-1].at if facts.history else T0)
    flagged_at = {f.at for f in a.flags if f.kind in _STEP_FLAGS}
    level = facts.start_level
    for event, allowed in decisions:
        if isinstance(event, Escalation):
            level = event.to_level
        if not isinstance(event, Session):
            assert (event.at in flagged_at) is (not allowed)
    assert a.level is level
    assert a.leader_in_charge is any(isinstance(e, LeaderCharge) for e in facts.history)
    assert not a.has(FlagKind.SESSION_OFF_LEVEL)


_STEP_FLAGS = {FlagKind.ESCALATED_TOO_EARLY, FlagKind.LEVEL_SKIPPED}
