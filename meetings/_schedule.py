"""Meeting schedules: series, occurrences and their identifiers, in Beijing time.  Pure core.

A series repeats weekly on one weekday at one wall-clock time in Beijing time
(Asia/Shanghai, UTC+8 with no daylight saving, so a fixed offset is exact); an ad-hoc
series has exactly one date.  Occurrences are *computed* from the series; the database
keeps a row for an occurrence only once something happened to it (moved, cancelled, an
agenda, started).  An occurrence is named by its series and its original Beijing date —
``"12-20261203"`` — so its identifier never changes when it is moved, and one that was
never touched needs no row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Final

__all__ = [
    "BEIJING",
    "MeetingKind",
    "OccurrenceKey",
    "SeriesRule",
    "beijing_date",
    "local_start",
    "occurrence_dates",
    "parse_clock",
    "parse_occurrence_id",
    "parse_weekday",
]

BEIJING: Final = timezone(timedelta(hours=8), "CST")

_CLOCK: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_OCCURRENCE: Final = re.compile(r"^([1-9]\d{0,9})-(\d{8})$")


class MeetingKind(StrEnum):
    VILLAGE_WEEKLY = "village_weekly"  # 村级联席例会, in principle on Thursday
    TOWNSHIP_WEEKLY = "township_weekly"  # 乡级联席例会, Friday morning, chaired by 政法委员
    ADHOC = "adhoc"  # one meeting on one date

    @property
    def default_weekday(self) -> int | None:
        """ISO weekday (1 = Monday) a new series of this kind falls on unless told."""
        return {MeetingKind.VILLAGE_WEEKLY: 4, MeetingKind.TOWNSHIP_WEEKLY: 5}.get(self)


def parse_clock(text: str) -> time:
    """``"09:00"`` → 09:00; ``ValueError`` naming the expected form otherwise."""
    match = _CLOCK.match(text)
    if match is None:
        raise ValueError(
            f"a meeting start must be HH:MM in Beijing time (e.g. 09:00), got {text!r}"
        )
    return time(int(match[1]), int(match[2]))


def parse_weekday(value: int) -> int:
    """An ISO weekday, 1 (Monday) … 7 (Sunday)."""
    if not 1 <= value <= 7:
        raise ValueError(f"weekday must be 1 (Monday) … 7 (Sunday), got {value}")
    return value


@dataclass(frozen=True, slots=True, order=True)
class OccurrenceKey:
    """One occurrence: its series and the Beijing date it was scheduled on originally."""

    series_id: int
    day: date

    @property
    def id(self) -> str:
        return f"{self.series_id}-{self.day:%Y%m%d}"


def parse_occurrence_id(text: str) -> OccurrenceKey:
    """``"12-20261203"`` → the key; ``ValueError`` saying what an identifier looks like."""
    match = _OCCURRENCE.match(text)
    if match is None:
        raise ValueError(
            f"a meeting occurrence id is <series>-<YYYYMMDD>, e.g. 3-20261204; got {text[:40]!r}"
        )
    try:
        day = datetime.strptime(match[2], "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"{match[2]} in the occurrence id is not a date") from None
    return OccurrenceKey(int(match[1]), day)


def beijing_date(moment: datetime) -> date:
    """The Beijing calendar date of an aware instant."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no instant; use an aware one")
    return moment.astimezone(BEIJING).date()


def local_start(day: date, clock: time) -> datetime:
    """The UTC instant of ``clock`` on ``day`` in Beijing."""
    return datetime.combine(day, clock, BEIJING).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """When a series meets: weekly on ``weekday`` from ``first`` (to ``until``), or once."""

    kind: MeetingKind
    weekday: int  # ISO, 1 = Monday; for ad-hoc the weekday of ``first``
    first: date  # Beijing date of the first occurrence (ad-hoc: the only one)
    until: date | None = None  # last Beijing date that may hold an occurrence

    def __post_init__(self) -> None:
        parse_weekday(self.weekday)
        if self.kind is not MeetingKind.ADHOC and self.first.isoweekday() != self.weekday:
            raise ValueError("the first date of a weekly series must fall on its weekday")
        if self.until is not None and self.until < self.first:
            raise ValueError("a series cannot end before its first meeting")

    def holds_on(self, day: date) -> bool:
        if day < self.first or (self.until is not None and day > self.until):
            return False
        if self.kind is MeetingKind.ADHOC:
            return day == self.first
        return day.isoweekday() == self.weekday


def first_on_or_after(day: date, weekday: int) -> date:
    """The first date on or after ``day`` that falls on ISO ``weekday``."""
    return day + timedelta(days=(weekday - day.isoweekday()) % 7)


def occurrence_dates(rule: SeriesRule, start: date, end: date) -> Iterator[date]:
    """The series' original dates within ``start`` … ``end`` (both Beijing dates, inclusive)."""
    lo = max(start, rule.first)
    hi = end if rule.until is None else min(end, rule.until)
    if lo > hi:
        return
    if rule.kind is MeetingKind.ADHOC:
        if lo <= rule.first <= hi:
            yield rule.first
        return
    day = first_on_or_after(lo, rule.weekday)
    while day <= hi:
        yield day
        day += timedelta(days=7)
