"""The yearly petition KPI: initial petitions (初信初访) against the year's disputes.

DOMAIN.md: each year the share of disputes that turn into initial petitions must stay
within 10%; leadership assessments are penalised when the 3221 mechanism was not strictly
followed *and* petitions exceeded 10%.

Definitions (China-time dates):

* **cases**: disputes received in the year by the unit or any unit under it.
* **petitioned**: those of them whose initial petition was filed by the end of that year
  (a case received in December and petitioned in January counts for neither year's
  numerator, which keeps a closed year's figure stable once the year is over).
* **3221 followed** in a petitioned case: the rules find no breach in its history up to
  the end of the year (or ``now`` while the year runs).
* **within limit**: share ≤ limit (default exactly 1/10, compared as a fraction, so 10 of
  100 is within and 11 of 100 is not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from cases._calendar import CHINA_TZ, china_date
from cases._ledger import CaseSnapshot
from cases._rules import Flag, RulesConfig, assess
from core import contains

__all__ = ["PetitionKpi", "PetitionedCase", "petition_kpi"]

DEFAULT_LIMIT = Fraction(1, 10)


@dataclass(frozen=True, slots=True)
class PetitionedCase:
    case_id: str
    number: str
    petitioned_on: date
    flags: tuple[Flag, ...]

    @property
    def followed(self) -> bool:
        """The 3221 rule was followed in this case (no flag)."""
        return not self.flags


@dataclass(frozen=True, slots=True)
class PetitionKpi:
    unit: str
    year: int
    cases: int
    petitioned_cases: tuple[PetitionedCase, ...]
    limit: Fraction = DEFAULT_LIMIT

    @property
    def petitioned(self) -> int:
        return len(self.petitioned_cases)

    @property
    def share(self) -> Fraction | None:
        """Petitioned / cases, or ``None`` for a year without cases."""
        return Fraction(self.petitioned, self.cases) if self.cases else None

    @property
    def within_limit(self) -> bool:
        return self.share is None or self.share <= self.limit

    @property
    def not_followed(self) -> int:
        """Petitioned cases in which the 3221 rule was breached."""
        return sum(not case.followed for case in self.petitioned_cases)

    @property
    def followed_3221(self) -> bool:
        return self.not_followed == 0

    @property
    def penalised(self) -> bool:
        """Over the limit *and* 3221 not strictly followed: the assessment is penalised."""
        return not self.within_limit and not self.followed_3221


def petition_kpi(
    unit: str,
    year: int,
    cases: Iterable[CaseSnapshot],
    *,
    now: datetime,
    limit: Fraction = DEFAULT_LIMIT,
    rules: RulesConfig | None = None,
) -> PetitionKpi:
    """The KPI of ``unit`` for ``year`` from the snapshots of its subtree's cases.

    Cases received in other years are ignored (the caller may pass a wider set); a case
    outside the unit's subtree raises ``ValueError``.
    """
    if not 0 < limit <= 1:
        raise ValueError(f"petition limit {limit} must be a share in (0, 1]")
    # The last instant that counts: now, or the last microsecond of the year in China.
    cut = min(now, datetime(year + 1, 1, 1, tzinfo=CHINA_TZ) - timedelta(microseconds=1))
    total = 0
    petitioned: list[PetitionedCase] = []
    for case in cases:
        if not contains(unit, case.unit):
            raise ValueError(f"case {case.number} was received outside unit {unit}")
        if case.received_on.year != year or case.facts.received_at > cut:
            continue
        total += 1
        if case.petitioned_at is None or case.petitioned_at > cut:
            continue
        assessment = assess(case.facts.as_of(cut), now=cut, config=rules)
        petitioned.append(
            PetitionedCase(
                case.case_id, case.number, china_date(case.petitioned_at), assessment.flags
            )
        )
    petitioned.sort(key=lambda p: (p.petitioned_on, p.number))
    return PetitionKpi(unit, year, total, tuple(petitioned), limit)
