"""Tables of the meetings module (prefix ``meeting``): series, their required attendees,
the occurrences something happened to, and the append-only event log of each occurrence.

Occurrences are computed from their series (:mod:`meetings._schedule`); a row in
``meeting_occurrences`` exists once an occurrence was moved, cancelled, given an agenda or
minutes, or started — keyed by its series and original Beijing date.  ``node_id`` names
the gateway process hosting a running occurrence's room, so any process can send a join
to it.  ``meeting_events`` are only ever appended: joins, leaves, roll calls and chair
actions; attendance is computed from them, so a rejoin never overwrites a leave.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime, utcnow

__all__ = ["MeetingAttendeeRow", "MeetingEventRow", "MeetingOccurrenceRow", "MeetingSeriesRow"]


class MeetingSeriesRow(Base):
    """A recurring meeting of a unit (weekly), or an ad-hoc one (one date)."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    weekday: Mapped[int] = mapped_column(Integer)  # ISO, 1 = Monday
    start: Mapped[str] = mapped_column(String(5))  # "HH:MM", Beijing time
    duration_minutes: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[date] = mapped_column(Date)
    until_day: Mapped[date | None] = mapped_column(Date)
    chair: Mapped[str] = mapped_column(String(64))  # the chair's username
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingAttendeeRow(Base):
    """A required attendee of every occurrence of a series (a site, by role)."""

    __tablename__ = "meeting_attendees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(24))
    site: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str | None] = mapped_column(String(12), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MeetingOccurrenceRow(Base):
    """What happened to one occurrence: moved, cancelled, agenda and minutes, run."""

    __tablename__ = "meeting_occurrences"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the original Beijing date
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # if moved
    duration_minutes: Mapped[int | None] = mapped_column(Integer)  # if changed
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(500), default="")  # why moved or cancelled
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default="scheduled")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The gateway process hosting the room while it runs (``gateway_nodes.id``).
    node_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingEventRow(Base):
    """One thing that happened in an occurrence's room; rows are only ever appended."""

    __tablename__ = "meeting_events"
    __table_args__ = (Index("ix_meeting_events_occurrence", "series_id", "day", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))  # join, leave, rollcall, answer, control …
    participant: Mapped[str] = mapped_column(String(40), default="")  # the room's id
    site: Mapped[str] = mapped_column(String(100), default="")
    actor: Mapped[str] = mapped_column(String(120), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
