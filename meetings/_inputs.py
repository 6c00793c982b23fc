"""What callers send to the meetings service (parsed strictly by the web layer) and what
the service answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = [
    "AttendeeInput",
    "AttendeeView",
    "OccurrenceChange",
    "OccurrenceView",
    "SeriesInput",
    "SeriesView",
]


@dataclass(frozen=True, slots=True)
class AttendeeInput:
    role: str
    site: str = field(metadata={"max_length": 100})
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesInput:
    """A new series.  ``weekday`` is ISO (1 = Monday); village meetings default to
    Thursday, township meetings to Friday; ``start`` is HH:MM Beijing time (09:00 by
    default); ``date`` is the first date (YYYY-MM-DD, Beijing; the only one for
    ``adhoc``; by default the next date on the weekday); ``chair`` is a username (the
    township's chair for a township meeting by default); ``attendees`` replaces the
    defaults of the kind."""

    unit: str
    title: str = field(metadata={"max_length": 200})
    kind: str
    weekday: int | None = None
    start: str = "09:00"
    duration_minutes: int = 90
    chair: str | None = None
    date: str | None = None
    until: str | None = None
    attendees: list[AttendeeInput] | None = None


@dataclass(frozen=True, slots=True)
class OccurrenceChange:
    """A one-off change of one occurrence: moved (``start`` as YYYY-MM-DD HH:MM Beijing),
    shortened, cancelled (or restored), with a note; and its agenda and minutes."""

    start: str | None = None
    duration_minutes: int | None = None
    cancelled: bool | None = None
    note: str | None = field(default=None, metadata={"max_length": 500})
    agenda: str | None = field(default=None, metadata={"max_length": 20000})
    minutes: str | None = field(default=None, metadata={"max_length": 50000})


@dataclass(frozen=True, slots=True)
class AttendeeView:
    role: str
    role_zh: str
    site: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class SeriesView:
    id: int
    unit: str
    unit_name: str
    title: str
    kind: str
    weekday: int
    start: str
    duration_minutes: int
    chair: str
    first_date: date
    until: date | None
    attendees: list[AttendeeView]


@dataclass(frozen=True, slots=True)
class OccurrenceView:
    id: str
    series_id: int
    unit: str
    unit_name: str
    title: str
    kind: str
    day: date  # the original Beijing date (part of the id)
    starts_at: datetime  # UTC
    ends_at: datetime
    local_start: str  # "YYYY-MM-DD HH:MM", Beijing
    duration_minutes: int
    chair: str
    moved: bool
    cancelled: bool
    note: str
    state: str  # scheduled, running, ended
    started_at: datetime | None
    ended_at: datetime | None
    node_id: str | None
    agenda: str = ""
    minutes: str = ""
    attendees: list[AttendeeView] = field(default_factory=list)
