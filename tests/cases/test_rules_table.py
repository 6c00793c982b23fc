"""The 3221 rules as tables: history → level, stage, due step, flags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases._errors import EscalationNotAllowed, InconsistentHistoryError, SessionNotAllowed
from cases._facts import CaseFacts, Closure, Escalation, Session, merge_history
from cases._rules import (
    DueReason,
    FlagKind,
    RulesConfig,
    assess,
    check_escalation,
    check_leader_charge,
    check_session,
)
from cases._types import MediatorKind, Outcome, Stage
from core._units import Level
from tests.cases.helpers import (
    COUNTY,
    OTHER_TOWNSHIP,
    T0,
    TOWNSHIP,
    VILLAGE_A,
    end_of,
    facts,
)

F = FlagKind
CROSS = frozenset({OTHER_TOWNSHIP})

# (id, unit, tokens, cross, level, stage, due target, unresolved, flags in order)
TABLE = [
    ("intake", VILLAGE_A, "", False, "village", "village", None, 0, []),
    ("two_failures", VILLAGE_A, "VF VF", False, "village", "village", None, 2, []),
    ("three_failures_due", VILLAGE_A, "VF VF VF", False, "village", "village", "township", 3, []),
    ("partly_counts", VILLAGE_A, "VF VP VF", False, "village", "village", "township", 3, []),
    ("resolved_restarts", VILLAGE_A, "VF VF VR VF", False, "village", "village", None, 1, []),
    ("on_time", VILLAGE_A, "VF VF VF V>T", False, "township", "township", None, 0, []),
    (
        "too_early",
        VILLAGE_A,
        "VF VF V>T",
        False,
        "township",
        "township",
        None,
        0,
        [F.ESCALATED_TOO_EARLY],
    ),
    (
        "too_late",
        VILLAGE_A,
        "VF VF VF VF",
        False,
        "village",
        "village",
        "township",
        4,
        [F.ESCALATED_TOO_LATE],
    ),
    (
        "too_late_even_if_resolved",
        VILLAGE_A,
        "VF VF VF VR",
        False,
        "village",
        "village",
        None,
        0,
        [F.ESCALATED_TOO_LATE],
    ),
    (
        "skipped",
        VILLAGE_A,
        "VF VF VF V>C",
        False,
        "county",
        "county",
        None,
        0,
        [F.LEVEL_SKIPPED],
    ),
    (
        "skipped_and_early",
        VILLAGE_A,
        "VF V>C",
        False,
        "county",
        "county",
        None,
        0,
        [F.LEVEL_SKIPPED, F.ESCALATED_TOO_EARLY],
    ),
    (
        "township_due",
        VILLAGE_A,
        "VF VF VF V>T TF TP",
        False,
        "township",
        "township",
        "county",
        2,
        [],
    ),
    (
        "village_failures_do_not_count_at_township",
        VILLAGE_A,
        "VF VF VF V>T TF",
        False,
        "township",
        "township",
        None,
        1,
        [],
    ),
    (
        "full_3221",
        VILLAGE_A,
        "VF VF VF V>T TF TF T>C CF CF L",
        False,
        "county",
        "county_leader",
        None,
        2,
        [],
    ),
    (
        "leader_due",
        TOWNSHIP,
        "TF TF T>C CFp CFd",
        False,
        "county",
        "county",
        "county_leader",
        2,
        [],
    ),
    ("staff_not_counted", COUNTY, "CFs CFp CFs", False, "county", "county", None, 1, []),
    (
        "leader_too_early",
        COUNTY,
        "CFp L",
        False,
        "county",
        "county_leader",
        None,
        1,
        [F.ESCALATED_TOO_EARLY],
    ),
    (
        "leader_too_late",
        COUNTY,
        "CFp CFp CFs",
        False,
        "county",
        "county",
        "county_leader",
        2,
        [F.ESCALATED_TOO_LATE],
    ),
    (
        "sessions_under_leader_fine",
        COUNTY,
        "CFp CFp L CF CF",
        False,
        "county",
        "county_leader",
        None,
        4,
        [],
    ),
    ("township_intake", TOWNSHIP, "TF TF", False, "township", "township", "county", 2, []),
    ("cross_due_at_intake", VILLAGE_A, "", True, "village", "village", "county", 0, []),
    ("cross_straight_to_county", VILLAGE_A, "VF V>C", True, "county", "county", None, 0, []),
    ("cross_via_township", VILLAGE_A, "V>T", True, "township", "township", "county", 0, []),
    (
        "session_off_level",
        VILLAGE_A,
        "VF TF",
        False,
        "village",
        "village",
        None,
        1,
        [F.SESSION_OFF_LEVEL],
    ),
]


@pytest.mark.parametrize(
    ("unit", "tokens", "cross", "level", "stage", "due", "unresolved", "flags"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_rules_table(
    unit: str,
    tokens: str,
    cross: bool,
    level: str,
    stage: str,
    due: str | None,
    unresolved: int,
    flags: list[FlagKind],
) -> None:
    f = facts(tokens, unit=unit, townships=CROSS if cross else frozenset())
    a = assess(f, now=end_of(f))
    assert a.level is Level(level)
    assert a.stage is Stage(stage)
    assert (a.due.target if a.due else None) == (Stage(due) if due else None)
    assert a.unresolved == unresolved
    assert [flag.kind for flag in a.flags] == flags
    assert a.followed is (not flags)
    assert a.leader_required is (due == "county_leader")


def test_due_carries_reason_since_and_detail() -> None:
    f = facts("VF VF VF")
    a = assess(f, now=end_of(f))
    assert a.due is not None
    assert a.due.reason is DueReason.THRESHOLD
    assert a.due.since == f.history[2].at
    assert a.due.to_level is Level.TOWNSHIP
    assert "3 mediations at the village" in a.due.detail

    cross = facts(unit=VILLAGE_A, townships=CROSS)
    c = assess(cross, now=end_of(cross))
    assert c.due is not None and c.due.reason is DueReason.CROSS_TOWNSHIP
    assert c.due.since == cross.received_at


def test_flags_point_at_the_record() -> None:
    f = facts("VF VF V>T")
    (flag,) = assess(f, now=end_of(f)).flags
    assert flag.ref == "2" and flag.at == f.history[2].at and flag.level is Level.VILLAGE
    assert "2 of 3" in flag.detail


GRACE = RulesConfig().escalation_grace


@pytest.mark.parametrize(
    ("wait", "flagged"),
    [(GRACE - timedelta(seconds=1), False), (GRACE, False), (GRACE + timedelta(seconds=1), True)],
)
def test_kept_past_threshold_while_open(wait: timedelta, flagged: bool) -> None:
    f = facts("VF VF VF")
    a = assess(f, now=f.history[-1].at + wait)
    assert a.has(F.KEPT_PAST_THRESHOLD) is flagged
    assert a.due is not None  # still proposed either way


def test_kept_past_threshold_then_escalated_late() -> None:
    f = facts("VF VF VF")
    late = Escalation(f.history[-1].at + timedelta(days=8), Level.VILLAGE, Level.TOWNSHIP, "x")
    g = CaseFacts(f.unit, f.received_at, (*f.history, late))
    a = assess(g, now=late.at)
    assert [flag.kind for flag in a.flags] == [F.KEPT_PAST_THRESHOLD]
    assert "due for 8 days" in a.flags[0].detail


def test_cross_township_kept_below_county() -> None:
    f = facts(unit=VILLAGE_A, townships=CROSS)
    a = assess(f, now=f.received_at + timedelta(days=10))
    assert [flag.kind for flag in a.flags] == [F.CROSS_TOWNSHIP_BELOW_COUNTY]


def test_closed_case_has_nothing_due_and_no_delay_after_closure() -> None:
    f = facts("VF VF VF")
    closed = CaseFacts(
        f.unit, f.received_at, f.history, closure=Closure(f.history[-1].at, resolved=False)
    )
    a = assess(closed, now=f.history[-1].at + timedelta(days=60))
    assert a.closed and a.due is None and a.flags == ()


def test_thresholds_are_configurable() -> None:
    config = RulesConfig(village_failures=2)
    f = facts("VF VF")
    assert assess(f, now=end_of(f), config=config).due is not None
    check_escalation(f, Level.TOWNSHIP, now=end_of(f), config=config)
    with pytest.raises(ValueError, match="at least 1"):
        RulesConfig(township_failures=0)


def test_county_qualifying_kinds_are_configurable() -> None:
    config = RulesConfig(county_qualifying_kinds=frozenset({MediatorKind.PROFESSIONAL}))
    f = facts("CFp CFd", unit=COUNTY)
    assert assess(f, now=end_of(f), config=config).unresolved == 1
    assert assess(f, now=end_of(f)).unresolved == 2


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "tokens", "cross", "to", "code"),
    [
        pytest.param(VILLAGE_A, "VF VF", False, "township", "escalation_too_early", id="early"),
        pytest.param(VILLAGE_A, "VF VF VF", False, "county", "level_skipped", id="skip"),
        pytest.param(VILLAGE_A, "VF VF VF", False, "village", "not_upward", id="same"),
        pytest.param(TOWNSHIP, "TF TF", False, "village", "not_upward", id="down"),
        pytest.param(COUNTY, "CF CF", False, "county", "not_upward", id="top"),
        pytest.param(TOWNSHIP, "TF", False, "county", "escalation_too_early", id="township-1"),
        pytest.param(TOWNSHIP, "TF TR TF", False, "county", "escalation_too_early", id="reset"),
    ],
)
def test_check_escalation_refuses(unit: str, tokens: str, cross: bool, to: str, code: str) -> None:
    f = facts(tokens, unit=unit, townships=CROSS if cross else frozenset())
    with pytest.raises(EscalationNotAllowed) as info:
        check_escalation(f, Level(to), now=end_of(f))
    assert info.value.code == code
    assert info.value.message  # says why


@pytest.mark.parametrize(
    ("unit", "tokens", "cross", "to"),
    [
        pytest.param(VILLAGE_A, "VF VF VF", False, "township", id="village-3"),
        pytest.param(VILLAGE_A, "VF VP VF VF", False, "township", id="late-still-allowed"),
        pytest.param(TOWNSHIP, "TF TP", False, "county", id="township-2"),
        pytest.param(VILLAGE_A, "", True, "county", id="cross-direct"),
        pytest.param(VILLAGE_A, "", True, "township", id="cross-via-township"),
    ],
)
def test_check_escalation_allows(unit: str, tokens: str, cross: bool, to: str) -> None:
    f = facts(tokens, unit=unit, townships=CROSS if cross else frozenset())
    check_escalation(f, Level(to), now=end_of(f))


def test_escalation_message_explains_the_rule() -> None:
    f = facts("VF VF")
    with pytest.raises(EscalationNotAllowed, match=r"mediated this case 2 times.*after 3"):
        check_escalation(f, Level.TOWNSHIP, now=end_of(f))


def test_closed_case_refuses_everything() -> None:
    f = facts("VF VF VF", closed=None)
    closed = CaseFacts(f.unit, f.received_at, f.history, closure=Closure(end_of(f), False))
    with pytest.raises(EscalationNotAllowed) as info:
        check_escalation(closed, Level.TOWNSHIP, now=end_of(closed))
    assert info.value.code == "case_closed"
    with pytest.raises(SessionNotAllowed):
        check_session(closed, Level.VILLAGE, now=end_of(closed))


@pytest.mark.parametrize(
    ("unit", "tokens", "code"),
    [
        pytest.param(VILLAGE_A, "VF VF VF", "not_at_county", id="village"),
        pytest.param(COUNTY, "CFp", "leader_too_early", id="one"),
        pytest.param(COUNTY, "CFp CFs", "leader_too_early", id="staff-not-counted"),
        pytest.param(COUNTY, "CFp CFp L", "leader_already_in_charge", id="twice"),
    ],
)
def test_check_leader_charge_refuses(unit: str, tokens: str, code: str) -> None:
    f = facts(tokens, unit=unit)
    with pytest.raises(EscalationNotAllowed) as info:
        check_leader_charge(f, now=end_of(f))
    assert info.value.code == code


def test_check_leader_charge_allows_after_two() -> None:
    f = facts("CFp CFd", unit=COUNTY)
    assert check_leader_charge(f, now=end_of(f)).leader_required


def test_check_session_level() -> None:
    f = facts("VF VF VF V>T")
    check_session(f, Level.TOWNSHIP, now=end_of(f))
    with pytest.raises(SessionNotAllowed, match="at the township"):
        check_session(f, Level.VILLAGE, now=end_of(f))


def test_errors_map_to_kinds() -> None:
    from core.errors import ConflictError, InvalidInputError

    assert issubclass(EscalationNotAllowed, ConflictError)
    assert issubclass(InconsistentHistoryError, InvalidInputError)


# --- impossible histories -------------------------------------------------------------------


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param("T>C", id="from-wrong-level"),
        pytest.param("VF L", id="leader-below-county"),
        pytest.param("VF VF VF V>T T>C CF CF L L", id="leader-twice"),
    ],
)
def test_inconsistent_history_is_rejected(tokens: str) -> None:
    f = facts(tokens)
    with pytest.raises(InconsistentHistoryError):
        assess(f, now=end_of(f))


def test_history_must_be_ordered_and_aware() -> None:
    early = Session(T0 - timedelta(hours=1), Level.VILLAGE, Outcome.FAILED, MediatorKind.OTHER)
    with pytest.raises(InconsistentHistoryError, match="out of order"):
        CaseFacts(VILLAGE_A, T0, (early,))
    with pytest.raises(InconsistentHistoryError, match="no timezone"):
        Session(T0.replace(tzinfo=None), Level.VILLAGE, Outcome.FAILED, MediatorKind.OTHER)
    with pytest.raises(InconsistentHistoryError, match="not upward"):
        Escalation(T0, Level.TOWNSHIP, Level.VILLAGE, "x")
    with pytest.raises(InconsistentHistoryError, match="township code"):
        CaseFacts(VILLAGE_A, T0, townships=frozenset({VILLAGE_A}))


def test_merge_history_puts_the_session_before_an_escalation_at_the_same_instant() -> None:
    at = T0 + timedelta(hours=1)
    sessions = [
        Session(at, Level.VILLAGE, Outcome.FAILED, MediatorKind.OTHER, ref=str(i)) for i in range(3)
    ]
    up = Escalation(at, Level.VILLAGE, Level.TOWNSHIP, "x")
    merged = merge_history(sessions, [up])
    assert merged[-1] is up and [e.ref for e in merged[:3]] == ["0", "1", "2"]
    a = assess(CaseFacts(VILLAGE_A, T0, merged), now=at)
    assert a.followed and a.level is Level.TOWNSHIP
