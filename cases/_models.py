"""Tables of the dispute-case module (prefix ``case``): cases, parties, sessions, escalations,
status history, the per unit-year numbering counter and frozen ledger snapshots.

The 3221 facts live in rows that are only ever appended (sessions, escalations, history);
the ``cases`` row carries the *current* state (level, handling unit, status, 包案,
closure, petition) so that lists, scopes and the SQL ledger read one row per case.
Personal data of parties is stored sealed (:class:`core.SecretBox`) next to a masked copy
for lists; the masked copy is what every list, log line and audit entry shows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime

__all__ = [
    "CaseCounter",
    "CaseDisputeTypeRow",
    "CaseEscalationRow",
    "CaseEventRow",
    "CasePartyRow",
    "CaseRow",
    "CaseSessionRow",
    "LedgerSnapshotRow",
]


class CaseCounter(Base):
    """Last case number issued per receiving unit and year.

    Intake updates this row first in its transaction (an upsert), which serialises
    concurrent intakes of one unit-year on PostgreSQL (row lock) and SQLite (write lock).
    """

    __tablename__ = "case_counters"

    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CaseDisputeTypeRow(Base):
    """A configured dispute type (see :mod:`cases._dispute_types`); rows are never deleted.

    ``cases.dispute_type`` holds the key.  There is no foreign key on it: adding one to the
    existing ``cases`` table would make SQLite rebuild it; the key is checked at intake,
    rows are never deleted, and the ledger refuses a case whose key has no row.
    """

    __tablename__ = "case_dispute_types"

    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(50))
    label_en: Mapped[str] = mapped_column(String(50))
    ledger_column: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseRow(Base):
    """One dispute (矛盾纠纷) from intake to 办结销号."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_receiving_unit_received_at", "receiving_unit", "received_at"),
        Index("ix_cases_current_unit", "current_unit"),
        Index("ix_cases_received_at", "received_at"),
        Index("ix_cases_closed_at", "closed_at"),
        Index("ix_cases_petitioned_at", "petitioned_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    receiving_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    current_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    dispute_type: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    #: Other townships the dispute involves, comma-separated codes ("" for none).
    townships: Mapped[str] = mapped_column(String(200), default="")
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    leader_name: Mapped[str | None] = mapped_column(String(100))
    leader_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leader_by: Mapped[str | None] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closure_resolved: Mapped[bool | None] = mapped_column(Boolean)
    closure_note: Mapped[str | None] = mapped_column(Text)
    petitioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    petition_ref: Mapped[str | None] = mapped_column(String(100))


class CasePartyRow(Base):
    """A party (当事人); name, ID number and phone sealed with context ``case_party:<id>``."""

    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name_sealed: Mapped[str] = mapped_column(Text)
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    name_masked: Mapped[str] = mapped_column(String(100))
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    phone_masked: Mapped[str | None] = mapped_column(String(40))


class CaseSessionRow(Base):
    """A mediation session (调解) in a mediation room of the unit holding the case."""

    __tablename__ = "case_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    level: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    state: Mapped[str] = mapped_column(String(16))  # scheduled / in_progress / done
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mediator_kind: Mapped[str] = mapped_column(String(20))
    mediators: Mapped[str] = mapped_column(Text)  # JSON list of names
    attendees: Mapped[str] = mapped_column(Text)  # JSON list of names
    linked_leader: Mapped[str | None] = mapped_column(String(100))  # 联村领导
    resident_official: Mapped[str | None] = mapped_column(String(100))  # 驻村干部
    outcome: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    recording_id: Mapped[str | None] = mapped_column(String(64))
    recording_note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(120))


class CaseEscalationRow(Base):
    """A case reported up (上报) under the 3221 rule."""

    __tablename__ = "case_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    from_level: Mapped[str] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    from_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    to_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")


class CaseEventRow(Base):
    """Status history and timeline: every change of a case, in order."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    status_from: Mapped[str | None] = mapped_column(String(20))
    status_to: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")


class LedgerSnapshotRow(Base):
    """A submitted monthly ledger, frozen; a correction is a new version, never an edit."""

    __tablename__ = "case_ledger_snapshots"
    __table_args__ = (UniqueConstraint("unit_code", "month", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    month: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of the ledger
    sha256: Mapped[str] = mapped_column(String(64))
