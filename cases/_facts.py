"""What happened to a case, as plain frozen values the 3221 rules can judge.

The persistence layer loads the case row, its sessions, escalations and 包案 records, and
builds a :class:`CaseFacts` (``merge_history`` orders the three tables into one timeline).
All instants are timezone-aware; ``ref`` carries the row id so that a flag can point back
at the session or escalation it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from cases._calendar import china_date
from cases._errors import InconsistentHistoryError
from cases._types import MediatorKind, Outcome, Stage
from core import Level, level_of, validate_code

__all__ = [
    "CaseFacts",
    "Closure",
    "Escalation",
    "Event",
    "LeaderCharge",
    "Session",
    "merge_history",
]


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InconsistentHistoryError(
            f"{what} time {moment.isoformat()} has no timezone; store instants as aware UTC"
        )


@dataclass(frozen=True, slots=True)
class Session:
    """One mediation session: where in the hierarchy, by whom, and how it ended."""

    at: datetime
    level: Level
    outcome: Outcome
    mediator_kind: MediatorKind
    ref: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.at, "session")


@dataclass(frozen=True, slots=True)
class Escalation:
    """A case reported up (上报) from one level to a higher one, by an account."""

    at: datetime
    from_level: Level
    to_level: Level
    by: str
    ref: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.at, "escalation")
        if self.to_level.rank >= self.from_level.rank:
            raise InconsistentHistoryError(
                f"an escalation goes up: {self.from_level} → {self.to_level} is not upward"
            )


@dataclass(frozen=True, slots=True)
class LeaderCharge:
    """A county leader takes personal charge of the case (县领导包案)."""

    at: datetime
    leader: str
    by: str
    ref: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.at, "包案")


@dataclass(frozen=True, slots=True)
class Closure:
    """The case was closed (办结销号); ``resolved`` is False when it ended without agreement."""

    at: datetime
    resolved: bool

    def __post_init__(self) -> None:
        _require_aware(self.at, "closure")


Event = Session | Escalation | LeaderCharge

# At one instant a session comes first: it is what an escalation or 包案 is based on.
_TIE_ORDER = {Session: 0, Escalation: 1, LeaderCharge: 2}


def merge_history(
    sessions: Iterable[Session],
    escalations: Iterable[Escalation] = (),
    leader_charges: Iterable[LeaderCharge] = (),
) -> tuple[Event, ...]:
    """One timeline from the three record kinds, ordered by time (stable within a kind)."""
    events: list[Event] = [*sessions, *escalations, *leader_charges]
    return tuple(sorted(events, key=lambda e: (e.at, _TIE_ORDER[type(e)])))


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A case as the rules see it.

    ``unit`` is the receiving unit (its level is where the case starts).  ``townships``
    lists the township codes the dispute involves besides the receiving unit's own
    township (parties or the disputed land in another township); the receiving unit's own
    township is always counted, so a case is cross-township when the union has two or more.
    ``history`` must be in time order (see :func:`merge_history`).
    """

    unit: str
    received_at: datetime
    history: tuple[Event, ...] = ()
    townships: frozenset[str] = field(default_factory=frozenset)
    closure: Closure | None = None

    def __post_init__(self) -> None:
        try:
            validate_code(self.unit)
            for code in self.townships:
                if level_of(code) is not Level.TOWNSHIP:
                    raise ValueError(f"{code} is not a township code (it must end in 000)")
        except ValueError as exc:
            raise InconsistentHistoryError(f"case unit or townships: {exc}") from None
        _require_aware(self.received_at, "intake")
        previous = self.received_at
        for event in self.history:
            if event.at < previous:
                raise InconsistentHistoryError(
                    f"case history is out of order or precedes intake at {event.at.isoformat()}; "
                    "build it with merge_history()"
                )
            previous = event.at
        if self.closure is not None and self.closure.at < previous:
            raise InconsistentHistoryError(
                "the case is closed before the last event of its history; reopen it first"
            )

    @property
    def start_level(self) -> Level:
        return level_of(self.unit)

    @property
    def involved_townships(self) -> frozenset[str]:
        own = (
            frozenset() if self.start_level is Level.COUNTY else frozenset({self.unit[:9] + "000"})
        )
        return own | self.townships

    @property
    def cross_township(self) -> bool:
        """The dispute spans two or more townships, so the county coordinates it."""
        return len(self.involved_townships) > 1

    def stage_on(self, day: date) -> Stage:
        """The 3221 stage at the end of ``day`` (China time): level reached, or 包案."""
        stage = Stage(self.start_level.value)
        for event in self.history:
            if china_date(event.at) > day:
                break
            if isinstance(event, Escalation):
                stage = Stage(event.to_level.value)
            elif isinstance(event, LeaderCharge):
                stage = Stage.COUNTY_LEADER
        return stage

    def as_of(self, moment: datetime) -> CaseFacts:
        """The case as it stood at ``moment``: later events and a later closure dropped."""
        return CaseFacts(
            unit=self.unit,
            received_at=self.received_at,
            history=tuple(e for e in self.history if e.at <= moment),
            townships=self.townships,
            closure=self.closure if self.closure and self.closure.at <= moment else None,
        )
