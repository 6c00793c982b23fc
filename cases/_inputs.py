"""What a caller asks the case service to do, as plain dataclasses (pure).

The web layer parses JSON bodies straight into these (strict: unknown fields and wrong
types are refused there); the service validates the *meaning* of each field with the
vocabularies and validators of the pure core, so a non-web caller gets the same checks.
Instants travel as ISO 8601 text and are parsed here with a message that names the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from cases._errors import InvalidCaseInputError

__all__ = [
    "CaseQuery",
    "IntakeInput",
    "PartyInput",
    "PartyRole",
    "SessionInput",
    "SessionMode",
    "parse_day",
    "parse_instant",
    "require_text",
]


class PartyRole(StrEnum):
    APPLICANT = "applicant"  # 申请人
    RESPONDENT = "respondent"  # 被申请人
    OTHER = "other"  # 其他当事人


class SessionMode(StrEnum):
    SCHEDULE = "schedule"  # 预约: a room and a time, nothing held yet
    START = "start"  # 开始: held now, the room is recorded until it is finished
    RECORD = "record"  # 登记: a session that has just been held, with its outcome


@dataclass(frozen=True)
class PartyInput:
    name: str = field(metadata={"max_length": 50})
    role: str = field(default="applicant", metadata={"max_length": 16})
    id_number: str | None = field(default=None, metadata={"max_length": 24})
    phone: str | None = field(default=None, metadata={"max_length": 30})


@dataclass(frozen=True)
class IntakeInput:
    dispute_type: str = field(metadata={"max_length": 32})
    channel: str = field(metadata={"max_length": 32})
    summary: str = field(metadata={"max_length": 4000})
    parties: list[PartyInput]
    unit: str | None = field(
        default=None, metadata={"max_length": 12, "description": "receiving unit; default yours"}
    )
    mediator: str | None = field(
        default=None, metadata={"max_length": 64, "description": "username of the mediator"}
    )
    townships: list[str] = field(
        default_factory=list,
        metadata={"description": "other townships the dispute involves (codes)"},
    )


@dataclass(frozen=True)
class SessionInput:
    room_id: int
    mediators: list[str]
    mode: str = field(default="record", metadata={"max_length": 16})
    mediator_kind: str = field(default="peoples_mediation", metadata={"max_length": 32})
    attendees: list[str] = field(default_factory=list)
    linked_leader: str | None = field(
        default=None, metadata={"max_length": 100, "description": "联村领导, village cases"}
    )
    resident_official: str | None = field(
        default=None, metadata={"max_length": 100, "description": "驻村干部, village cases"}
    )
    outcome: str | None = field(default=None, metadata={"max_length": 32})
    notes: str = field(default="", metadata={"max_length": 4000})
    scheduled_for: str | None = field(
        default=None, metadata={"max_length": 40, "description": "ISO 8601 with offset"}
    )


@dataclass(frozen=True)
class CaseQuery:
    """Search and filters of the case list; every field narrows, none widens the scope."""

    text: str = ""  # case number or words of the summary
    status: str | None = None
    dispute_type: str | None = None
    channel: str | None = None
    level: str | None = None
    unit: str | None = None  # receiving or handling unit (and its subtree)
    received_from: date | None = None
    received_to: date | None = None
    limit: int = 50
    offset: int = 0


def require_text(value: str | None, what: str, *, max_length: int = 4000) -> str:
    """The stripped text, or :class:`InvalidCaseInputError` when it is empty or too long."""
    text = (value or "").strip()
    if not text:
        raise InvalidCaseInputError(f"{what} must not be empty")
    if len(text) > max_length:
        raise InvalidCaseInputError(f"{what} must be at most {max_length} characters")
    return text


def parse_instant(value: str, what: str) -> datetime:
    """An aware datetime from ISO 8601 text with an offset (``2024-05-03T09:30:00+08:00``)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidCaseInputError(
            f"{what} {value!r} is not a date and time; write e.g. 2024-05-03T09:30:00+08:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidCaseInputError(f"{what} needs a UTC offset, e.g. +08:00")
    return moment


def parse_day(value: str, what: str) -> date:
    """A date from ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidCaseInputError(
            f"{what} {value!r} is not a date; write it as YYYY-MM-DD"
        ) from None
