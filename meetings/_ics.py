"""iCalendar (RFC 5545) feed of a person's meetings, so that a phone or desktop calendar
shows the Thursday and Friday meetings.  Pure core.

Times are written in UTC (``…Z``): every calendar shows them in its own zone, which for
the centres is Beijing time.  A cancelled occurrence stays in the feed with
``STATUS:CANCELLED`` so calendars remove it rather than keep a stale copy; a moved one
keeps its UID (the occurrence id) so calendars move it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from meetings._inputs import OccurrenceView

__all__ = ["calendar_ics", "escape_text", "fold_line"]

PRODID = "-//zongzhi-gateway//meetings//ZH"


def escape_text(value: str) -> str:
    """TEXT escaping: backslash, semicolon, comma and newlines."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold_line(line: str, limit: int = 75) -> str:
    """Fold a content line at ``limit`` octets (never inside a UTF-8 character)."""
    out: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size = " ", 1  # continuation lines start with one space
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_ics(
    occurrences: Iterable[OccurrenceView], *, name: str, base_url: str, now: datetime
) -> str:
    """The VCALENDAR text (CRLF line ends) of ``occurrences``."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for view in occurrences:
        description = view.agenda or ""
        if view.note:
            description = f"{view.note}\n{description}".strip()
        lines += [
            "BEGIN:VEVENT",
            f"UID:{view.id}@zongzhi-gateway",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(view.starts_at)}",
            f"DTEND:{_stamp(view.ends_at)}",
            f"SUMMARY:{escape_text(view.title)}",
            f"LOCATION:{escape_text(view.unit_name)}",
            f"URL:{base_url.rstrip('/')}/meetings/{view.id}",
            f"STATUS:{'CANCELLED' if view.cancelled else 'CONFIRMED'}",
        ]
        if description:
            lines.append(f"DESCRIPTION:{escape_text(description)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold_line(line) for line in lines) + "\r\n"
