"""Attendance from the event log: present, late, absent, left early, rejoins, roll calls."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from meetings import AttendanceStatus, report_csv, report_xlsx
from meetings._attendance import Event, Required, attendance

START = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # Friday 09:00 Beijing
REQUIRED = [
    Required("host", "和平溪乡", "431226203000"),
    Required("village", "和平溪村", "431226203201"),
    Required("village", "楠木桥村", "431226203202"),
    Required("police_station", "派出所"),
    Required("court", "人民法庭"),
]


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def report(events: list[Event], *, ended: float | None = 60.0):  # type: ignore[no-untyped-def]
    return attendance(
        occurrence="3-20261204",
        title="周五联席例会",
        unit="431226203000",
        starts_at=START,
        began_at=at(-2),
        ended_at=None if ended is None else at(ended),
        required=REQUIRED,
        events=events,
        now=at(90),
    )


EVENTS = [
    Event(at(-1), "join", "a", "和平溪乡", "431226203000"),
    Event(at(2), "join", "b", "和平溪村", "431226203201"),
    # the village of 楠木桥 joins under another name: matched by its unit
    Event(at(12), "join", "c", "楠木桥村村委会", "431226203202"),
    Event(at(3), "join", "d", "派出所"),
    Event(at(20), "leave", "d", "派出所", detail={"reason": "vanished"}),
    Event(at(22), "join", "e", "派出所"),  # a rejoin adds a stay, it does not overwrite
    Event(at(40), "leave", "b", "和平溪村", detail={"reason": "left"}),
    Event(at(5), "join", "f", "县综治中心", "431226000000"),  # not required: listed apart
    Event(at(30), "rollcall", "b", "和平溪村"),
    Event(at(30.2), "rollcall_answer", "b", "和平溪村"),
    Event(at(35), "rollcall", "c", "楠木桥村村委会"),
]


def test_statuses_rejoins_and_roll_calls() -> None:
    r = report(EVENTS)
    by_site = {e.site: e for e in r.entries}
    assert by_site["和平溪乡"].status is AttendanceStatus.PRESENT
    assert by_site["和平溪村"].status is AttendanceStatus.PRESENT
    assert by_site["和平溪村"].left_early  # left at 40 of 60 and never came back
    assert by_site["楠木桥村"].status is AttendanceStatus.LATE  # 12 min after 09:00
    police = by_site["派出所"]
    assert police.status is AttendanceStatus.PRESENT and police.joins == 2
    assert not police.left_early and police.last_leave is None  # still in at the end
    assert police.minutes == 17.0 + 38.0
    assert by_site["人民法庭"].status is AttendanceStatus.ABSENT and by_site["人民法庭"].joins == 0
    assert not by_site["县综治中心"].required
    assert r.count(AttendanceStatus.ABSENT) == 1 and r.count(AttendanceStatus.LATE) == 1
    first, second = r.roll_calls
    assert first.site == "和平溪村" and first.seconds == 12.0
    assert second.answered_at is None


def test_late_counts_from_the_chairs_start_when_it_was_later() -> None:
    events = [Event(at(14), "join", "b", "和平溪村", "431226203201")]
    late_start = attendance(
        occurrence="3-20261204",
        title="t",
        unit="431226203000",
        starts_at=START,
        began_at=at(10),
        ended_at=None,
        required=REQUIRED,
        events=events,
        now=at(30),
    )
    (entry,) = [e for e in late_start.entries if e.site == "和平溪村"]
    assert entry.status is AttendanceStatus.PRESENT  # 4 min after the chair opened the room
    assert not entry.left_early  # nobody leaves early from a meeting still running


def test_csv_and_xlsx_render_the_same_table_in_chinese_or_english() -> None:
    r = report(EVENTS)
    text = report_csv(r)
    assert "出席" in text and "迟到" in text and "缺席" in text and "未应答" in text
    assert "absent" in report_csv(r, lang="en")
    book = load_workbook(io.BytesIO(report_xlsx(r)))
    rows = [[c for c in row if c is not None] for row in book.active.iter_rows(values_only=True)]
    assert rows[0] == ["会议考勤"]
    court = next(row for row in rows if "人民法庭" in row)
    assert "缺席" in court
