"""Weekly video meetings (联席例会): schedules, the MCU room, chair controls, attendance.

The village centres meet weekly (in principle on Thursday) with their linked township
leader and resident officials; the township meets every Friday morning, chaired by its
political-legal member (政法委员), with every village.  :class:`MeetingService` keeps the
series and their occurrences in Beijing time (the pure rules in ``_schedule``); the room
itself encodes one composite picture once for everyone (see ``_room``).
"""

from meetings._attendance import (
    AttendanceEntry,
    AttendanceReport,
    AttendanceStatus,
    MonthlySummary,
    monthly_csv,
    monthly_rows,
    monthly_xlsx,
    report_csv,
    report_rows,
    report_xlsx,
)
from meetings._attendees import AttendeeRole, RequiredAttendee, default_attendees, short_name
from meetings._errors import (
    InvalidMeetingInputError,
    MeetingError,
    MeetingNotFoundError,
    MeetingStateError,
    NotChairError,
    RoomLockedError,
)
from meetings._inputs import (
    AttendeeInput,
    AttendeeView,
    OccurrenceChange,
    OccurrenceView,
    SeriesInput,
    SeriesView,
)
from meetings._layout import Layout, Tile, compute_layout
from meetings._room import Participant, Room, RoomSettings
from meetings._rooms import JoinAnswer, MeetingRooms
from meetings._schedule import (
    BEIJING,
    MeetingKind,
    OccurrenceKey,
    SeriesRule,
    beijing_date,
    occurrence_dates,
    parse_clock,
    parse_occurrence_id,
)
from meetings._service import MAX_RANGE_DAYS, MeetingService, parse_day

__all__ = [
    "BEIJING",
    "MAX_RANGE_DAYS",
    "AttendanceEntry",
    "AttendanceReport",
    "AttendanceStatus",
    "AttendeeInput",
    "AttendeeRole",
    "AttendeeView",
    "InvalidMeetingInputError",
    "JoinAnswer",
    "Layout",
    "MeetingError",
    "MeetingKind",
    "MeetingNotFoundError",
    "MeetingRooms",
    "MeetingService",
    "MeetingStateError",
    "MonthlySummary",
    "NotChairError",
    "OccurrenceChange",
    "OccurrenceKey",
    "OccurrenceView",
    "Participant",
    "RequiredAttendee",
    "Room",
    "RoomLockedError",
    "RoomSettings",
    "SeriesInput",
    "SeriesRule",
    "SeriesView",
    "Tile",
    "beijing_date",
    "compute_layout",
    "default_attendees",
    "monthly_csv",
    "monthly_rows",
    "monthly_xlsx",
    "occurrence_dates",
    "parse_clock",
    "parse_day",
    "parse_occurrence_id",
    "report_csv",
    "report_rows",
    "report_xlsx",
    "short_name",
]
