"""Reporting calendar: China-time dates, ledger months, their periods and due dates.

Instants are stored as timezone-aware UTC datetimes; everything that counts "in a month"
or "by the 25th" counts in China time (UTC+8, no daylight saving), so a session held at
2024-05-31T17:00Z belongs to June.  A fixed offset is exact for China and needs no tz
database.

Reporting rule (DOMAIN.md): *by the 25th of each month* the township centre sends its
reports to the county.  A report for month M is therefore due on M-25.  So that the report
can be complete on that day, the ledger's statistical period for month M ends on the
cutoff day: by default the 26th of the previous month through the 25th of M
(上月26日至本月25日, the usual period for such monthly tables).  ``cutoff_day=None`` selects
the calendar month instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

__all__ = [
    "CHINA_TZ",
    "Month",
    "Period",
    "ReportStatus",
    "china_date",
    "is_overdue",
    "ledger_due_date",
    "ledger_period",
    "report_status",
]

CHINA_TZ: Final = timezone(timedelta(hours=8), "CST")
_MONTH: Final = re.compile(r"^(\d{4})-(\d{2})$")


def china_date(moment: datetime) -> date:
    """The calendar date in China of an aware instant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} is naive; pass an aware UTC datetime")
    return moment.astimezone(CHINA_TZ).date()


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month, written ``2024-05``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} must be between 1 and 12")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year {self.year} must be between 1 and 9999")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``Month.parse("2024-05")``; raises ``ValueError`` with the expected form."""
        match = _MONTH.match(text.strip())
        if match is None:
            raise ValueError(f"month {text!r} must be written YYYY-MM, e.g. 2024-05")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive range of China-time dates."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def ledger_period(month: Month, cutoff_day: int | None = 25) -> Period:
    """The statistical period of the ledger for ``month`` (see the module docstring)."""
    if cutoff_day is None:
        return Period(month.first_day, month.last_day)
    if not 1 <= cutoff_day <= 28:
        raise ValueError(f"ledger cutoff day {cutoff_day} must be between 1 and 28 (or None)")
    previous = month.previous()
    return Period(
        date(previous.year, previous.month, cutoff_day) + timedelta(days=1),
        date(month.year, month.month, cutoff_day),
    )


def ledger_due_date(month: Month, due_day: int = 25) -> date:
    """The day by which a township's ledger for ``month`` must reach the county."""
    if not 1 <= due_day <= 28:
        raise ValueError(f"report due day {due_day} must be between 1 and 28")
    return date(month.year, month.month, due_day)


class ReportStatus(StrEnum):
    """Dashboard state of one unit's monthly report."""

    NOT_DUE = "not_due"  # before the due day
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # past the due day, not submitted
    SUBMITTED = "submitted"  # submitted on or before the due day
    SUBMITTED_LATE = "submitted_late"


def report_status(
    month: Month, *, submitted_on: date | None, today: date, due_day: int = 25
) -> ReportStatus:
    """Where the report for ``month`` stands on ``today`` (both China-time dates)."""
    due = ledger_due_date(month, due_day)
    if submitted_on is not None:
        return ReportStatus.SUBMITTED if submitted_on <= due else ReportStatus.SUBMITTED_LATE
    if today < due:
        return ReportStatus.NOT_DUE
    return ReportStatus.DUE_TODAY if today == due else ReportStatus.OVERDUE


def is_overdue(month: Month, *, submitted_on: date | None, today: date, due_day: int = 25) -> bool:
    """True when the report is past its due day and still not submitted."""
    status = report_status(month, submitted_on=submitted_on, today=today, due_day=due_day)
    return status is ReportStatus.OVERDUE
