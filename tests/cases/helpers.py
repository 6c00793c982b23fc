"""Compact builders for case histories used by the rules, ledger and KPI tests.

A history is written as space-separated tokens, one event per token, one hour apart:

* ``VF`` / ``VP`` / ``VR`` — a village session that failed / partly resolved / resolved;
  ``T…`` at the township, ``C…`` at the county.  A county token may end with the
  mediator kind: ``p`` professional body (default), ``d`` department, ``s`` centre staff.
* ``V>T``, ``T>C``, ``V>C`` — an escalation;  ``L`` — a county leader takes charge.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cases._calendar import CHINA_TZ
from cases._facts import CaseFacts, Closure, Escalation, Event, LeaderCharge, Session
from cases._types import MediatorKind, Outcome
from core._units import Level

COUNTY = "431226000000"
TOWNSHIP = "431226101000"
OTHER_TOWNSHIP = "431226102000"
VILLAGE_A = "431226101201"
VILLAGE_B = "431226101202"

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

_LEVELS = {"V": Level.VILLAGE, "T": Level.TOWNSHIP, "C": Level.COUNTY}
_OUTCOMES = {"F": Outcome.FAILED, "P": Outcome.PARTLY, "R": Outcome.RESOLVED_WRITTEN}
_KINDS = {
    "p": MediatorKind.PROFESSIONAL,
    "d": MediatorKind.DEPARTMENT,
    "s": MediatorKind.CENTRE_STAFF,
}


def cst(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """An aware UTC instant for a China-time wall clock (``cst("2024-05-02", 9)``)."""
    local = datetime.combine(date.fromisoformat(day), datetime.min.time(), CHINA_TZ)
    return local.replace(hour=hour, minute=minute).astimezone(UTC)


def event(token: str, at: datetime, ref: str = "") -> Event:
    if token == "L":
        return LeaderCharge(at, leader="县领导", by="county-admin", ref=ref)
    if ">" in token:
        src, dst = token.split(">")
        return Escalation(at, _LEVELS[src], _LEVELS[dst], by="clerk", ref=ref)
    kind = _KINDS[token[2]] if len(token) == 3 else MediatorKind.PROFESSIONAL
    if token[0] != "C" and len(token) == 2:
        kind = MediatorKind.PEOPLES_MEDIATION
    return Session(at, _LEVELS[token[0]], _OUTCOMES[token[1]], kind, ref=ref)


def history(tokens: str, start: datetime = T0, step: timedelta = HOUR) -> tuple[Event, ...]:
    return tuple(
        event(tok, start + (i + 1) * step, ref=str(i)) for i, tok in enumerate(tokens.split())
    )


def facts(
    tokens: str = "",
    *,
    unit: str = VILLAGE_A,
    townships: frozenset[str] = frozenset(),
    closed: Closure | None = None,
    start: datetime = T0,
) -> CaseFacts:
    return CaseFacts(unit, start, history(tokens, start), townships, closed)


def end_of(f: CaseFacts) -> datetime:
    """One hour after the last event: "now" well inside the escalation grace."""
    return (f.history[-1].at if f.history else f.received_at) + HOUR
