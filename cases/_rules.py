"""The "3221" escalation rules (pure): what is due now, what is allowed, what went wrong.

The rule (DOMAIN.md): a **village** centre reports a dispute to the township after **3**
mediations without success; a **township** reports to the county after **2**; at the
**county**, professional/sector mediation bodies or departments mediate at least **2**
times and, if it is still unresolved, a **county leader takes personal charge** (县领导包案).
A dispute involving more than one township is coordinated by the county.

Decisions this module makes, so that every caller counts the same way:

* "Without success" means any outcome other than the three *resolved* ones, so a
  *partly resolved* session counts as a failure (the dispute is still open).
* Counting is per level and restarts when the case arrives at a level: failures at the
  village do not count towards the township's two.
* Counting is of *consecutive* failures: a resolved session restarts the count, because a
  reopened case (the agreement broke down) is a new attempt, not the continuation of the
  earlier failures.
* At the county only sessions held by the kinds in ``RulesConfig.county_qualifying_kinds``
  (professional/sector bodies and departments) count.
* The escalation is *due* the moment the count reaches the threshold.  It is a violation
  to hold another session at that level while it is due (*too late*), and to leave it
  due for longer than ``RulesConfig.escalation_grace`` (*kept past threshold*); the grace
  is the time the centre needs to file the report (default 7 days, our choice: the plan
  gives none).
* A cross-township case may go up at any time and may go from the village straight to
  the county; it is due at the county from the moment it is at a lower level.
* Sessions are recorded even when they break the rule (the record must show what really
  happened; the flag is the consequence).  Escalations and 包案 that break the rule are
  refused by :func:`check_escalation` / :func:`check_leader_charge`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cases._errors import EscalationNotAllowed, InconsistentHistoryError, SessionNotAllowed
from cases._facts import CaseFacts, Escalation, LeaderCharge, Session
from cases._types import MediatorKind, Stage
from core import Level

__all__ = [
    "Assessment",
    "DueEscalation",
    "DueReason",
    "Flag",
    "FlagKind",
    "RulesConfig",
    "assess",
    "check_escalation",
    "check_leader_charge",
    "check_session",
]


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Thresholds of the 3221 rule and the grace for filing a due escalation."""

    village_failures: int = 3
    township_failures: int = 2
    county_failures: int = 2
    county_qualifying_kinds: frozenset[MediatorKind] = field(
        default_factory=lambda: frozenset({MediatorKind.PROFESSIONAL, MediatorKind.DEPARTMENT})
    )
    escalation_grace: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        for name in ("village_failures", "township_failures", "county_failures"):
            if getattr(self, name) < 1:
                raise ValueError(f"RulesConfig.{name} must be at least 1")
        if self.escalation_grace < timedelta(0):
            raise ValueError("RulesConfig.escalation_grace must not be negative")

    def threshold(self, level: Level) -> int:
        """Failed mediations at ``level`` after which the next step is due."""
        return {
            Level.VILLAGE: self.village_failures,
            Level.TOWNSHIP: self.township_failures,
            Level.COUNTY: self.county_failures,
        }[level]


class FlagKind(StrEnum):
    ESCALATED_TOO_EARLY = "escalated_too_early"
    ESCALATED_TOO_LATE = "escalated_too_late"
    LEVEL_SKIPPED = "level_skipped"
    KEPT_PAST_THRESHOLD = "kept_past_threshold"
    CROSS_TOWNSHIP_BELOW_COUNTY = "cross_township_below_county"
    SESSION_OFF_LEVEL = "session_off_level"


@dataclass(frozen=True, slots=True)
class Flag:
    """One breach of the rule: what, at which level, when, and the record it is about."""

    kind: FlagKind
    level: Level
    at: datetime
    detail: str
    ref: str = ""


class DueReason(StrEnum):
    THRESHOLD = "threshold"
    CROSS_TOWNSHIP = "cross_township"


@dataclass(frozen=True, slots=True)
class DueEscalation:
    """The next step the rule requires now, since when, and why."""

    target: Stage
    from_level: Level
    reason: DueReason
    since: datetime
    detail: str

    @property
    def to_level(self) -> Level:
        """The level that takes the case; the county itself for 包案."""
        return Level.TOWNSHIP if self.target is Stage.TOWNSHIP else Level.COUNTY


@dataclass(frozen=True, slots=True)
class Assessment:
    """The rule's view of a case at one instant."""

    level: Level
    leader_in_charge: bool
    unresolved: int  # consecutive failed mediations counted at the current level
    threshold: int
    cross_township: bool
    closed: bool
    due: DueEscalation | None
    flags: tuple[Flag, ...]

    @property
    def stage(self) -> Stage:
        return Stage.COUNTY_LEADER if self.leader_in_charge else Stage(self.level.value)

    @property
    def leader_required(self) -> bool:
        """A county leader must take personal charge now (县领导包案)."""
        return self.due is not None and self.due.target is Stage.COUNTY_LEADER

    @property
    def followed(self) -> bool:
        """True when the history shows no breach of the 3221 rule."""
        return not self.flags

    def has(self, kind: FlagKind) -> bool:
        return any(flag.kind is kind for flag in self.flags)


_NEXT_STAGE = {Level.VILLAGE: Stage.TOWNSHIP, Level.TOWNSHIP: Stage.COUNTY}


@dataclass(slots=True)
class _Walk:
    """Mutable state while replaying one history; never escapes :func:`assess`."""

    facts: CaseFacts
    config: RulesConfig
    level: Level
    entered_at: datetime
    leader: bool = False
    run: int = 0
    reached_at: datetime | None = None
    flags: list[Flag] = field(default_factory=list)

    @property
    def threshold(self) -> int:
        return self.config.threshold(self.level)

    def pending(self) -> DueEscalation | None:
        if self.leader:
            return None
        if self.facts.cross_township and self.level is not Level.COUNTY:
            return DueEscalation(
                Stage.COUNTY,
                self.level,
                DueReason.CROSS_TOWNSHIP,
                self.entered_at,
                "the dispute involves more than one township: report it to the county",
            )
        if self.reached_at is None:
            return None
        if self.level is Level.COUNTY:
            detail = (
                f"{self.run} mediations by professional/sector bodies or departments at the "
                "county without success: a county leader must take charge (县领导包案)"
            )
            return DueEscalation(
                Stage.COUNTY_LEADER, self.level, DueReason.THRESHOLD, self.reached_at, detail
            )
        target = _NEXT_STAGE[self.level]
        detail = (
            f"{self.run} mediations at the {self.level} without success "
            f"(threshold {self.threshold}): report it to the {target}"
        )
        return DueEscalation(target, self.level, DueReason.THRESHOLD, self.reached_at, detail)

    def flag(self, kind: FlagKind, at: datetime, detail: str, ref: str = "") -> None:
        self.flags.append(Flag(kind, self.level, at, detail, ref))

    def check_delay(self, until: datetime, ref: str = "") -> None:
        due = self.pending()
        if due is None or until - due.since <= self.config.escalation_grace:
            return
        kind = (
            FlagKind.CROSS_TOWNSHIP_BELOW_COUNTY
            if due.reason is DueReason.CROSS_TOWNSHIP
            else FlagKind.KEPT_PAST_THRESHOLD
        )
        days = (until - due.since).days
        self.flag(kind, until, f"{due.detail}; due for {days} days", ref)

    def session(self, s: Session) -> None:
        if s.level is not self.level:
            self.flag(
                FlagKind.SESSION_OFF_LEVEL,
                s.at,
                f"session held at the {s.level} while the case was at the {self.level}",
                s.ref,
            )
            return
        if not self.leader and self.reached_at is not None:
            self.flag(
                FlagKind.ESCALATED_TOO_LATE,
                s.at,
                f"session held at the {self.level} after {self.run} failed mediations "
                f"instead of taking the next step (threshold {self.threshold})",
                s.ref,
            )
        if s.outcome.resolved:
            self.run, self.reached_at = 0, None
            return
        counts = (
            self.level is not Level.COUNTY or s.mediator_kind in self.config.county_qualifying_kinds
        )
        if counts:
            self.run += 1
            if self.run >= self.threshold and self.reached_at is None:
                self.reached_at = s.at

    def escalation(self, e: Escalation) -> None:
        if e.from_level is not self.level:
            raise InconsistentHistoryError(
                f"escalation at {e.at.isoformat()} is from the {e.from_level}, but the case "
                f"was at the {self.level}"
            )
        self.check_delay(e.at, e.ref)
        if not self.facts.cross_township:
            if e.to_level is not self.level.above():
                self.flag(
                    FlagKind.LEVEL_SKIPPED,
                    e.at,
                    f"reported from the {e.from_level} straight to the {e.to_level}",
                    e.ref,
                )
            if self.run < self.threshold:
                self.flag(
                    FlagKind.ESCALATED_TOO_EARLY,
                    e.at,
                    f"reported up after {self.run} of {self.threshold} failed mediations "
                    f"at the {self.level}",
                    e.ref,
                )
        self.level, self.entered_at = e.to_level, e.at
        self.run, self.reached_at = 0, None

    def leader_charge(self, c: LeaderCharge) -> None:
        if self.level is not Level.COUNTY:
            raise InconsistentHistoryError(
                f"包案 at {c.at.isoformat()} while the case was at the {self.level}, "
                "not at the county"
            )
        if self.leader:
            raise InconsistentHistoryError(f"a second 包案 at {c.at.isoformat()}")
        self.check_delay(c.at, c.ref)
        if self.run < self.threshold:
            self.flag(
                FlagKind.ESCALATED_TOO_EARLY,
                c.at,
                f"county leader took charge after {self.run} of {self.threshold} failed "
                "mediations by professional/sector bodies or departments",
                c.ref,
            )
        self.leader = True


def assess(facts: CaseFacts, *, now: datetime, config: RulesConfig | None = None) -> Assessment:
    """Replay the history of ``facts`` and judge it at ``now`` (an aware datetime)."""
    config = config or RulesConfig()
    walk = _Walk(facts, config, facts.start_level, facts.received_at)
    for event in facts.history:
        if isinstance(event, Session):
            walk.session(event)
        elif isinstance(event, Escalation):
            walk.escalation(event)
        else:
            walk.leader_charge(event)
    closed = facts.closure is not None
    walk.check_delay(facts.closure.at if facts.closure is not None else now)
    return Assessment(
        level=walk.level,
        leader_in_charge=walk.leader,
        unresolved=walk.run,
        threshold=walk.threshold,
        cross_township=facts.cross_township,
        closed=closed,
        due=None if closed else walk.pending(),
        flags=tuple(walk.flags),
    )


def _refuse(code: str, message: str) -> EscalationNotAllowed:
    return EscalationNotAllowed(message, code=code)


def check_escalation(
    facts: CaseFacts, to_level: Level, *, now: datetime, config: RulesConfig | None = None
) -> Assessment:
    """Return the assessment if reporting the case to ``to_level`` now is allowed, else raise.

    Raises :class:`EscalationNotAllowed` with ``code`` one of ``case_closed``,
    ``not_upward``, ``level_skipped``, ``escalation_too_early``.
    """
    a = assess(facts, now=now, config=config)
    if a.closed:
        raise _refuse("case_closed", "the case is closed; reopen it before reporting it up")
    if to_level.rank >= a.level.rank:
        raise _refuse(
            "not_upward",
            f"the case is at the {a.level}; it can only be reported to a higher level",
        )
    if a.cross_township:
        return a
    if to_level is not a.level.above():
        raise _refuse(
            "level_skipped",
            f"a {a.level} case is reported to the {a.level.above()} first; only a dispute "
            "involving more than one township goes straight to the county",
        )
    if a.unresolved < a.threshold:
        raise _refuse(
            "escalation_too_early",
            f"the {a.level} has mediated this case {a.unresolved} times without success; "
            f"under the 3221 rule it is reported to the {to_level} after {a.threshold}",
        )
    return a


def check_leader_charge(
    facts: CaseFacts, *, now: datetime, config: RulesConfig | None = None
) -> Assessment:
    """Return the assessment if a county leader may take charge (包案) now, else raise.

    ``code`` of the refusal: ``case_closed``, ``not_at_county``,
    ``leader_already_in_charge``, ``leader_too_early``.
    """
    a = assess(facts, now=now, config=config)
    if a.closed:
        raise _refuse("case_closed", "the case is closed; reopen it before assigning a leader")
    if a.level is not Level.COUNTY:
        raise _refuse(
            "not_at_county",
            f"the case is at the {a.level}; a county leader takes charge only of county cases",
        )
    if a.leader_in_charge:
        raise _refuse("leader_already_in_charge", "a county leader is already in charge")
    if a.unresolved < a.threshold:
        raise _refuse(
            "leader_too_early",
            f"professional/sector bodies or departments have mediated this case "
            f"{a.unresolved} times without success at the county; a county leader takes "
            f"charge after {a.threshold}",
        )
    return a


def check_session(
    facts: CaseFacts, level: Level, *, now: datetime, config: RulesConfig | None = None
) -> Assessment:
    """Return the assessment if a session may be recorded at ``level``, else raise.

    A session at the case's level is always recorded, even when an escalation is due: the
    flag then records the breach (see the module docstring).
    """
    a = assess(facts, now=now, config=config)
    if a.closed:
        raise SessionNotAllowed(
            "the case is closed; reopen it before recording a session", code="case_closed"
        )
    if level is not a.level:
        raise SessionNotAllowed(
            f"the case is at the {a.level}; record the session there, not at the {level}",
            code="session_wrong_level",
        )
    return a
