"""The yearly petition KPI against the 10% line."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from cases._facts import CaseFacts
from cases._kpi import petition_kpi
from cases._ledger import CaseSnapshot
from cases._rules import FlagKind, assess
from cases._types import Channel, DisputeType
from tests.cases.helpers import COUNTY, TOWNSHIP, VILLAGE_A, VILLAGE_B, cst, history

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def case(
    n: int,
    received: datetime,
    tokens: str = "",
    *,
    petitioned: datetime | None = None,
    unit: str = VILLAGE_A,
) -> CaseSnapshot:
    facts = CaseFacts(unit, received, history(tokens, received))
    return CaseSnapshot(
        f"c{n}", f"{unit}-{received.year}-{n:06d}", DisputeType.OTHER, Channel.WINDOW, facts,
        petitioned,
    )  # fmt: skip


def year_of_cases(petitioned: int, *, flagged: int = 0) -> list[CaseSnapshot]:
    """20 cases in 2024 across the township; the first ``petitioned`` petitioned in 2024,
    of which the first ``flagged`` had been reported up too early (VF V>T)."""
    cases = []
    for i in range(20):
        received = cst(f"2024-{1 + i % 12:02d}-10")
        tokens = "VF V>T" if i < flagged else "VF VF VF V>T"
        pet = cst(f"2024-{1 + i % 12:02d}-20") if i < petitioned else None
        cases.append(case(i, received, tokens, petitioned=pet, unit=(VILLAGE_A, VILLAGE_B)[i % 2]))
    return cases


@pytest.mark.parametrize(
    ("petitioned", "flagged", "within", "followed", "penalised"),
    [
        (0, 0, True, True, False),
        (2, 0, True, True, False),  # exactly 10%: within
        (2, 1, True, False, False),  # breach but within the line: not penalised
        (3, 0, False, True, False),  # over the line but 3221 followed
        (3, 1, False, False, True),  # over the line and 3221 breached
    ],
)
def test_kpi_against_the_line(
    petitioned: int, flagged: int, within: bool, followed: bool, penalised: bool
) -> None:
    kpi = petition_kpi(TOWNSHIP, 2024, year_of_cases(petitioned, flagged=flagged), now=NOW)
    assert kpi.cases == 20
    assert kpi.petitioned == petitioned
    assert kpi.share == Fraction(petitioned, 20)
    assert kpi.within_limit is within
    assert kpi.followed_3221 is followed
    assert kpi.not_followed == flagged
    assert kpi.penalised is penalised


def test_year_boundaries_are_china_time() -> None:
    cases = [
        # 2024-12-31T17:00Z is 2025-01-01 in China: not a 2024 case
        case(1, datetime(2024, 12, 31, 17, 0, tzinfo=UTC)),
        # received in December 2024, petitioned in January 2025: counted, not petitioned
        case(2, cst("2024-12-20"), petitioned=cst("2025-01-05")),
        # received 2023: another year
        case(3, cst("2023-06-01"), petitioned=cst("2024-02-01")),
        # petitioned at 23:59 China time on 12-31: in 2024
        case(4, cst("2024-03-01"), petitioned=cst("2024-12-31", 23, 59)),
    ]
    kpi = petition_kpi(TOWNSHIP, 2024, cases, now=NOW)
    assert (kpi.cases, kpi.petitioned) == (2, 1)
    assert kpi.petitioned_cases[0].case_id == "c4"


def test_running_year_counts_up_to_now() -> None:
    cases = [case(1, cst("2024-03-01"), petitioned=cst("2024-06-01"))]
    assert petition_kpi(TOWNSHIP, 2024, cases, now=cst("2024-05-01")).petitioned == 0
    assert petition_kpi(TOWNSHIP, 2024, cases, now=cst("2024-07-01")).petitioned == 1


def test_followed_is_judged_at_the_end_of_the_year() -> None:
    """A breach after the year does not change the closed year's figure."""
    received = cst("2024-12-31", 10)
    # sessions at 14:00, 18:00, 22:00 on 12-31 and 02:00 on 2025-01-01 (China time): the
    # fourth is held while the escalation is due, a breach, but in 2025
    tokens = history("VF VF VF VF", received, step=timedelta(hours=4))
    snapshot = CaseSnapshot(
        "c1", "x", DisputeType.OTHER, Channel.WINDOW, CaseFacts(VILLAGE_A, received, tokens),
        petitioned_at=cst("2024-12-31", 20),
    )  # fmt: skip
    kpi = petition_kpi(TOWNSHIP, 2024, [snapshot], now=NOW)
    assert kpi.petitioned == 1 and kpi.followed_3221
    assert assess(snapshot.facts, now=NOW).has(FlagKind.ESCALATED_TOO_LATE)
    in_year = CaseFacts(VILLAGE_A, received, history("VF VF VF VF", received))
    breached = dataclasses.replace(snapshot, facts=in_year)
    assert not petition_kpi(TOWNSHIP, 2024, [breached], now=NOW).followed_3221


def test_empty_year_and_bad_input() -> None:
    kpi = petition_kpi(COUNTY, 2024, [], now=NOW)
    assert kpi.share is None and kpi.within_limit and not kpi.penalised
    with pytest.raises(ValueError, match="outside unit"):
        petition_kpi(VILLAGE_B, 2024, [case(1, cst("2024-03-01"))], now=NOW)
    with pytest.raises(ValueError, match="share"):
        petition_kpi(COUNTY, 2024, [], now=NOW, limit=Fraction(0))
