"""What the case service hands back: plain frozen values, PII masked unless revealed (pure).

``ledger_to_json``/``ledger_from_json`` are the one serial form of a monthly ledger: the
frozen snapshot stores it, the API returns it, and a stored snapshot is read back into a
:class:`~cases._ledger.MonthlyLedger` so that it is cross-checked and exported exactly like
a freshly computed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cases._calendar import Month, Period
from cases._ledger import MonthlyLedger, StageRow
from cases._rules import Assessment
from cases._types import Channel, DisputeType, Stage

__all__ = [
    "CaseDetail",
    "CasePage",
    "CaseSummary",
    "EscalationView",
    "EventView",
    "LedgerSnapshot",
    "PartyView",
    "RevealedParty",
    "SessionView",
    "ledger_from_json",
    "ledger_to_json",
]


@dataclass(frozen=True, slots=True)
class PartyView:
    """A party as lists and the case page show it: masked."""

    id: int
    role: str
    name: str
    id_number: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class RevealedParty:
    """A party's full personal data, for ``case.reveal_pii`` only; every reveal is audited."""

    id: int
    role: str
    name: str
    id_number: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class SessionView:
    id: int
    state: str
    level: str
    unit: str
    room_id: int
    room_name: str
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    mediator_kind: str
    mediators: tuple[str, ...]
    attendees: tuple[str, ...]
    linked_leader: str | None
    resident_official: str | None
    outcome: str | None
    notes: str
    recording_id: str | None
    recording_note: str


@dataclass(frozen=True, slots=True)
class EscalationView:
    id: int
    at: datetime
    from_level: str
    to_level: str
    from_unit: str
    to_unit: str
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    actor: str
    kind: str
    status_from: str | None
    status_to: str
    note: str


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    number: str
    receiving_unit: str
    current_unit: str
    level: str
    status: str
    dispute_type: str
    channel: str
    summary: str
    received_at: datetime
    closed_at: datetime | None
    parties: tuple[PartyView, ...]
    mediator: str | None
    leader_in_charge: bool
    due: str | None  # the stage an escalation is due to, if one is due now
    flagged: bool


@dataclass(frozen=True, slots=True)
class CasePage:
    total: int
    cases: tuple[CaseSummary, ...]


@dataclass(frozen=True, slots=True)
class CaseDetail:
    summary: CaseSummary
    townships: tuple[str, ...]
    created_by: str
    leader_name: str | None
    leader_at: datetime | None
    closure_resolved: bool | None
    closure_note: str | None
    petitioned_at: datetime | None
    petition_ref: str | None
    sessions: tuple[SessionView, ...]
    escalations: tuple[EscalationView, ...]
    events: tuple[EventView, ...]
    assessment: Assessment


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """A submitted (frozen) monthly ledger version."""

    id: int
    unit: str
    month: str
    version: int
    submitted_at: datetime
    submitted_by: str
    reason: str
    sha256: str
    ledger: MonthlyLedger


def ledger_to_json(ledger: MonthlyLedger) -> dict[str, Any]:
    return {
        "unit": ledger.unit,
        "month": str(ledger.month),
        "period": {"start": ledger.period.start.isoformat(), "end": ledger.period.end.isoformat()},
        "overdue_days": ledger.overdue_days,
        "received": ledger.received,
        "by_type": {t.value: n for t, n in ledger.by_type.items()},
        "by_channel": {c.value: n for c, n in ledger.by_channel.items()},
        "open_at_start": ledger.open_at_start,
        "active": ledger.active,
        "closed": ledger.closed,
        "closed_here": ledger.closed_here,
        "resolved_here": ledger.resolved_here,
        "escalated_up": ledger.escalated_up,
        "escalations_received": ledger.escalations_received,
        "concluded_here": ledger.concluded_here,
        "success_rate": ledger.success_rate,
        "open_at_end": ledger.open_at_end,
        "overdue": ledger.overdue,
        "petitions": ledger.petitions,
        "stages": [
            {
                "unit": row.unit,
                "counts": {s.value: n for s, n in row.counts.items()},
                "total": row.total,
            }
            for row in ledger.stages
        ],
    }


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"ledger field {key} must be an integer, got {value!r}")
    return value


def ledger_from_json(data: Mapping[str, Any]) -> MonthlyLedger:
    """Read back :func:`ledger_to_json`; raises ``ValueError``/``KeyError`` on a bad document."""
    rate = data["success_rate"]
    return MonthlyLedger(
        unit=str(data["unit"]),
        month=Month.parse(str(data["month"])),
        period=Period(
            date.fromisoformat(data["period"]["start"]), date.fromisoformat(data["period"]["end"])
        ),
        overdue_days=_int(data, "overdue_days"),
        received=_int(data, "received"),
        by_type={DisputeType(k): int(v) for k, v in data["by_type"].items()},
        by_channel={Channel(k): int(v) for k, v in data["by_channel"].items()},
        open_at_start=_int(data, "open_at_start"),
        active=_int(data, "active"),
        closed=_int(data, "closed"),
        closed_here=_int(data, "closed_here"),
        resolved_here=_int(data, "resolved_here"),
        escalated_up=_int(data, "escalated_up"),
        escalations_received=_int(data, "escalations_received"),
        concluded_here=_int(data, "concluded_here"),
        success_rate=None if rate is None else float(rate),
        stages=tuple(
            StageRow(
                str(row["unit"]),
                {Stage(k): int(v) for k, v in row["counts"].items()},
                int(row["total"]),
            )
            for row in data["stages"]
        ),
        overdue=_int(data, "overdue"),
        petitions=_int(data, "petitions"),
    )
