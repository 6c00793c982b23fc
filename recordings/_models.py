"""The recordings index in the database: rebuilt from files and manifests when needed.

The foreign keys name the ``cameras`` and ``cases`` tables by name only: this package does
not import the case module's models (the process loads them, so the names resolve).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime, utcnow

__all__ = [
    "EvidenceExportRow",
    "RecordingCaseRow",
    "RecordingGapRow",
    "RecordingRow",
    "RecordingSegmentRow",
    "RoomPolicyRow",
]


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # A camera removed from the registry leaves its recordings (evidence) in place.
    camera_id: Mapped[int | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="SET NULL"), index=True
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    mode: Mapped[str] = mapped_column(String(16))
    #: recording / stopped / interrupted (salvaged after a crash) / deleted
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_reason: Mapped[str | None] = mapped_column(Text)
    media_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    media_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(String(300))  # relative to the recordings root
    key_id: Mapped[str] = mapped_column(String(16))
    case_session_id: Mapped[int | None] = mapped_column(Integer)
    #: the gateway process that writes (or wrote) it; another process takes over a camera
    #: only after this one stopped renewing its lease
    node_id: Mapped[str | None] = mapped_column(String(32))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delete_reason: Mapped[str | None] = mapped_column(Text)


class RecordingSegmentRow(Base):
    __tablename__ = "recording_segments"

    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    talkers: Mapped[str] = mapped_column(Text, default="")  # comma-separated


class RecordingGapRow(Base):
    __tablename__ = "recording_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


class RecordingCaseRow(Base):
    """A recording, or a time range of it, attached to a case as evidence."""

    __tablename__ = "recording_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    range_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    range_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    attached_by: Mapped[str] = mapped_column(String(120))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoomPolicyRow(Base):
    """How a room records: continuous, on a weekly schedule, or only during mediation."""

    __tablename__ = "room_recording_policies"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    windows: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[days], "HH:MM", "HH:MM"]
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvidenceExportRow(Base):
    __tablename__ = "evidence_exports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    requested_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    ranges: Mapped[str] = mapped_column(Text)  # JSON list of {recording_id, start, end}
    state: Mapped[str] = mapped_column(String(16))  # building / done / failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    path: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
