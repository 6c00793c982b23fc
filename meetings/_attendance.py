"""Attendance: who came, late or on time, who left early, who answered the roll call.  Pure core.

Computed from the occurrence's append-only events, never stored: a rejoin adds a join,
it does not undo a leave, and the report can always be recomputed.  A required attendee
(a site, :mod:`meetings._attendees`) is matched by the site name it joined with, or by
its unit for attendees that are units (a village joining under another name).

- **absent**: never joined;
- **late**: first joined more than ``grace`` after the meeting began — the scheduled start,
  or the chair's start when that was later (nobody is late for a meeting not yet open);
- **present**: joined in time;
- **left early** (in addition): its last stay ended more than ``grace`` before the meeting
  ended, and it did not come back.

``rows``/``csv``/``xlsx`` render one layout, in Chinese or English.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from openpyxl import Workbook
from openpyxl.styles import Font

from meetings._attendees import AttendeeRole
from meetings._schedule import BEIJING

__all__ = [
    "AttendanceEntry",
    "AttendanceReport",
    "AttendanceStatus",
    "Event",
    "MonthlyMeeting",
    "MonthlySummary",
    "Required",
    "RollCall",
    "attendance",
    "monthly_csv",
    "monthly_rows",
    "monthly_xlsx",
    "report_csv",
    "report_rows",
    "report_xlsx",
]

GRACE = timedelta(minutes=5)


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"

    def label(self, lang: str) -> str:
        return {
            "present": ("出席", "present"),
            "late": ("迟到", "late"),
            "absent": ("缺席", "absent"),
        }[self.value][lang == "en"]


@dataclass(frozen=True, slots=True)
class Event:
    """One row of the event log, as the report needs it."""

    at: datetime
    kind: str
    participant: str = ""
    site: str = ""
    unit: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Required:
    role: str
    site: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class RollCall:
    site: str
    called_at: datetime
    answered_at: datetime | None

    @property
    def seconds(self) -> float | None:
        if self.answered_at is None:
            return None
        return round((self.answered_at - self.called_at).total_seconds(), 1)


@dataclass(frozen=True, slots=True)
class AttendanceEntry:
    role: str  # the attendee's role, "" for a site that was not required
    site: str
    required: bool
    status: AttendanceStatus
    left_early: bool
    first_join: datetime | None
    last_leave: datetime | None
    joins: int
    minutes: float  # time in the room, all stays together


@dataclass(frozen=True, slots=True)
class AttendanceReport:
    occurrence: str
    title: str
    unit: str
    starts_at: datetime
    began_at: datetime | None
    ended_at: datetime | None
    entries: list[AttendanceEntry]
    roll_calls: list[RollCall]

    def count(self, status: AttendanceStatus, *, required: bool = True) -> int:
        return sum(1 for e in self.entries if e.status is status and e.required == required)


def _stays(
    events: Sequence[Event], now: datetime
) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """Each participant's stay: (joined, left or None) by participant id."""
    stays: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for e in events:
        if e.kind == "join":
            stays.setdefault(e.participant, []).append((e.at, None))
        elif e.kind == "leave" and e.participant in stays:
            joined, left = stays[e.participant][-1]
            if left is None:
                stays[e.participant][-1] = (joined, e.at)
    return stays


def attendance(
    *,
    occurrence: str,
    title: str,
    unit: str,
    starts_at: datetime,
    began_at: datetime | None,
    ended_at: datetime | None,
    required: Iterable[Required],
    events: Sequence[Event],
    now: datetime,
    grace: timedelta = GRACE,
) -> AttendanceReport:
    events = sorted(events, key=lambda e: e.at)
    stays = _stays(events, now)
    joins = [e for e in events if e.kind == "join"]
    opened = max(starts_at, began_at) if began_at is not None else starts_at
    closing = ended_at
    claimed: set[str] = set()  # participant ids matched to a required attendee
    entries: list[AttendanceEntry] = []

    def entry(role: str, site: str, is_required: bool, pids: list[str]) -> AttendanceEntry:
        periods = [p for pid in pids for p in stays.get(pid, [])]
        if not periods:
            return AttendanceEntry(
                role, site, is_required, AttendanceStatus.ABSENT, False, None, None, 0, 0.0
            )
        first = min(start for start, _ in periods)
        still_in = any(end is None for _, end in periods)
        last_leave = None if still_in else max(end for _, end in periods if end is not None)
        until = closing or now
        minutes = sum(((end or until) - start).total_seconds() for start, end in periods) / 60
        status = AttendanceStatus.LATE if first > opened + grace else AttendanceStatus.PRESENT
        left_early = closing is not None and last_leave is not None and last_leave < closing - grace
        return AttendanceEntry(
            role,
            site,
            is_required,
            status,
            left_early,
            first,
            last_leave,
            len(periods),
            round(max(minutes, 0.0), 1),
        )

    for want in required:
        pids = []
        for e in joins:
            by_unit = (
                want.unit is not None
                and e.unit == want.unit
                and want.role in (AttendeeRole.VILLAGE.value, AttendeeRole.HOST.value)
            )
            if (e.site == want.site or by_unit) and e.participant not in pids:
                pids.append(e.participant)
        claimed.update(pids)
        entries.append(entry(want.role, want.site, True, pids))
    extra: dict[str, list[str]] = {}
    for e in joins:
        if e.participant not in claimed:
            extra.setdefault(e.site, [])
            if e.participant not in extra[e.site]:
                extra[e.site].append(e.participant)
    for site, pids in extra.items():
        entries.append(entry("", site, False, pids))
    calls: list[RollCall] = []
    for e in events:
        if e.kind == "rollcall":
            calls.append(RollCall(e.site, e.at, None))
        elif e.kind == "rollcall_answer":
            for i in range(len(calls) - 1, -1, -1):
                if calls[i].site == e.site and calls[i].answered_at is None:
                    calls[i] = RollCall(calls[i].site, calls[i].called_at, e.at)
                    break
    return AttendanceReport(occurrence, title, unit, starts_at, began_at, ended_at, entries, calls)


@dataclass(frozen=True, slots=True)
class MonthlyMeeting:
    id: str
    title: str
    local_start: str
    state: str  # ended, running, scheduled (not yet), not_held, cancelled
    present: int
    late: int
    absent: int
    left_early: int
    roll_calls: int
    answered: int


@dataclass(frozen=True, slots=True)
class MonthlySummary:
    unit: str
    month: str
    meetings: list[MonthlyMeeting]
    #: required site → {present, late, absent, left_early} over the meetings held
    sites: dict[str, dict[str, int]]
    unit_name: str = ""


# ---------------------------------------------------------------------- rendering
_TEXT = {
    "title": ("会议考勤", "Meeting attendance"),
    "meeting": ("会议", "Meeting"),
    "start": ("计划开始", "Scheduled start"),
    "began": ("实际开始", "Started"),
    "ended": ("结束", "Ended"),
    "role": ("类别", "Role"),
    "site": ("参会点", "Site"),
    "required": ("应到", "Required"),
    "status": ("状态", "Status"),
    "left_early": ("早退", "Left early"),
    "first_join": ("首次入会", "First joined"),
    "last_leave": ("最后离会", "Last left"),
    "joins": ("入会次数", "Joins"),
    "minutes": ("在会分钟", "Minutes"),
    "rollcall": ("点名", "Roll call"),
    "called": ("点名时间", "Called"),
    "answered": ("应答时间", "Answered"),
    "seconds": ("应答秒数", "Seconds"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "unanswered": ("未应答", "no answer"),
    "monthly": ("月度考勤汇总", "Monthly attendance"),
    "unit": ("单位", "Unit"),
    "month": ("月份", "Month"),
    "date": ("日期", "Date"),
    "state": ("状态", "State"),
    "present": ("出席", "Present"),
    "late": ("迟到", "Late"),
    "absent": ("缺席", "Absent"),
    "answered_calls": ("点名应答", "Roll calls answered"),
    "by_site": ("各参会点合计", "By site"),
}
_STATE = {
    "ended": ("已结束", "ended"),
    "running": ("进行中", "running"),
    "scheduled": ("未开始", "scheduled"),
    "not_held": ("未召开", "not held"),
    "cancelled": ("已取消", "cancelled"),
}
_ROLE_ZH = {r.value: r.label_zh for r in AttendeeRole}


def _t(key: str, lang: str) -> str:
    return _TEXT[key][lang == "en"]


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}"


def report_rows(report: AttendanceReport, *, lang: str = "zh") -> list[list[str]]:
    """The report as a table (Beijing time): a header block, one row per site, roll calls."""
    rows = [
        [_t("title", lang)],
        [_t("meeting", lang), report.title, report.occurrence],
        [_t("start", lang), _when(report.starts_at)],
        [_t("began", lang), _when(report.began_at)],
        [_t("ended", lang), _when(report.ended_at)],
        [],
        [
            _t(k, lang)
            for k in (
                "role",
                "site",
                "required",
                "status",
                "left_early",
                "first_join",
                "last_leave",
                "joins",
                "minutes",
            )
        ],
    ]
    for e in report.entries:
        role = (_ROLE_ZH.get(e.role, e.role) if lang != "en" else e.role) if e.role else ""
        rows.append(
            [
                role,
                e.site,
                _t("yes" if e.required else "no", lang),
                e.status.label(lang),
                _t("yes" if e.left_early else "no", lang),
                _when(e.first_join),
                _when(e.last_leave),
                str(e.joins),
                f"{e.minutes:.1f}",
            ]
        )
    if report.roll_calls:
        rows += [
            [],
            [_t("rollcall", lang)],
            [_t("site", lang), _t("called", lang), _t("answered", lang), _t("seconds", lang)],
        ]
        for call in report.roll_calls:
            rows.append(
                [
                    call.site,
                    _when(call.called_at),
                    _when(call.answered_at) or _t("unanswered", lang),
                    "" if call.seconds is None else f"{call.seconds:.1f}",
                ]
            )
    return rows


def report_csv(report: AttendanceReport, *, lang: str = "zh") -> str:
    out = io.StringIO()
    csv.writer(out).writerows(report_rows(report, lang=lang))
    return out.getvalue()


def report_xlsx(report: AttendanceReport, *, lang: str = "zh") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _t("title", lang)
    for row in report_rows(report, lang=lang):
        sheet.append(row)
    sheet["A1"].font = Font(bold=True, size=14)
    for column, width in zip("ABCDEFGHI", (12, 18, 8, 8, 8, 20, 20, 8, 10), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def monthly_rows(summary: MonthlySummary, *, lang: str = "zh") -> list[list[str | int]]:
    """The month as a table: the unit by name, one row per meeting, then each required
    site's totals over the meetings held.  Counts stay numbers (sums in a spreadsheet)."""
    unit = summary.unit_name or summary.unit
    rows: list[list[str | int]] = [
        [_t("monthly", lang)],
        [_t("unit", lang), unit],
        [_t("month", lang), summary.month],
        [],
        [
            _t(k, lang)
            for k in (
                "date",
                "meeting",
                "state",
                "present",
                "late",
                "absent",
                "left_early",
                "answered_calls",
            )
        ],
    ]
    for m in summary.meetings:
        state = _STATE.get(m.state, (m.state, m.state))[lang == "en"]
        rows.append(
            [
                m.local_start,
                m.title,
                state,
                m.present,
                m.late,
                m.absent,
                m.left_early,
                f"{m.answered}/{m.roll_calls}",
            ]
        )
    if summary.sites:
        rows += [
            [],
            [_t("by_site", lang)],
            [_t(k, lang) for k in ("site", "present", "late", "absent", "left_early")],
        ]
        for site, totals in summary.sites.items():
            rows.append(
                [
                    site,
                    totals["present"],
                    totals["late"],
                    totals["absent"],
                    totals["left_early"],
                ]
            )
    return rows


def monthly_csv(summary: MonthlySummary, *, lang: str = "zh") -> str:
    out = io.StringIO()
    csv.writer(out).writerows(monthly_rows(summary, lang=lang))
    return out.getvalue()


def monthly_xlsx(summary: MonthlySummary, *, lang: str = "zh") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _t("monthly", lang)
    for row in monthly_rows(summary, lang=lang):
        sheet.append(row)
    sheet["A1"].font = Font(bold=True, size=14)
    for column, width in zip("ABCDEFGH", (18, 30, 10, 8, 8, 8, 8, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
