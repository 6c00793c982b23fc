"""Rules about recordings: when a room records, how long a recording is kept, what a case
holds, what the low-disk guard may remove, and time-range arithmetic.  Pure core.

Legal hold (the rule that wins over every other): a recording linked to a case that is not
closed — received, in mediation, escalated, under a leader, reopened — is never removed by
retention or by the low-disk guard.  After a case closes, its recordings are kept for the
case type's period from the closing date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

__all__ = [
    "CLOSED_STATUS",
    "ROOM_MODES",
    "CaseFacts",
    "Clip",
    "Decision",
    "DiskPlan",
    "DiskRules",
    "RecordingFacts",
    "RecordingMode",
    "RetentionRules",
    "RoomPolicy",
    "WeeklyWindow",
    "clips_for_range",
    "legal_hold",
    "low_disk_plan",
    "retention_decisions",
    "room_policy",
    "should_record",
]

CLOSED_STATUS = "closed"


class RecordingMode(StrEnum):
    OFF = "off"
    CONTINUOUS = "continuous"
    SCHEDULE = "schedule"
    SESSION = "session"  # only while a mediation session runs in the room
    MANUAL = "manual"  # started by hand from the UI or API


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Record on ``weekdays`` (0 = Monday) from ``start`` to ``end`` local time."""

    weekdays: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.weekdays <= frozenset(range(7)) or not self.weekdays:
            raise ValueError(f"weekdays must be among 0 (Monday) … 6 (Sunday): {self.weekdays}")
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} must be after its start {self.start}")

    def contains(self, local: datetime) -> bool:
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class RoomPolicy:
    mode: RecordingMode = RecordingMode.SESSION
    windows: tuple[WeeklyWindow, ...] = ()


#: The modes a room can be set to; manual recordings are started by hand, not by a room.
ROOM_MODES = (
    RecordingMode.OFF,
    RecordingMode.CONTINUOUS,
    RecordingMode.SCHEDULE,
    RecordingMode.SESSION,
)


def room_policy(mode: str, windows: Iterable[tuple[Iterable[int], str, str]]) -> RoomPolicy:
    """A room's policy from the caller's raw choice: ``mode`` and ``(weekdays, "HH:MM",
    "HH:MM")`` windows.  Raises ``ValueError`` saying what is wrong and what is allowed."""
    choices = ", ".join(m.value for m in ROOM_MODES)
    if mode == RecordingMode.MANUAL.value:
        raise ValueError("manual is not a room policy; start recordings by hand instead")
    if mode not in {m.value for m in ROOM_MODES}:
        raise ValueError(f"a room's recording policy is one of {choices}, not {mode!r}")
    parsed: list[WeeklyWindow] = []
    for number, (weekdays, start, end) in enumerate(windows, start=1):
        try:
            parsed.append(WeeklyWindow(frozenset(weekdays), _clock(start), _clock(end)))
        except ValueError as exc:
            raise ValueError(f"schedule window {number}: {exc}") from None
    chosen = RecordingMode(mode)
    if chosen is RecordingMode.SCHEDULE and not parsed:
        raise ValueError("a schedule policy needs at least one weekly window")
    return RoomPolicy(chosen, tuple(parsed))


def _clock(value: str) -> time:
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError:
        raise ValueError(f"a time of day is HH:MM (e.g. 08:30), not {value!r}") from None


def should_record(policy: RoomPolicy, local_now: datetime, *, session_running: bool) -> bool:
    """Whether the policy wants the room recorded now (manual recordings are separate)."""
    if policy.mode is RecordingMode.CONTINUOUS:
        return True
    if policy.mode is RecordingMode.SCHEDULE:
        return any(w.contains(local_now) for w in policy.windows)
    if policy.mode is RecordingMode.SESSION:
        return session_running
    return False


@dataclass(frozen=True, slots=True)
class CaseFacts:
    case_id: int
    number: str
    status: str
    dispute_type: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordingFacts:
    recording_id: str
    mode: str
    started_at: datetime
    ended_at: datetime | None  # None while recording
    bytes: int
    cases: tuple[CaseFacts, ...] = ()

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class RetentionRules:
    days_by_mode: Mapping[str, int] = field(
        default_factory=lambda: {
            RecordingMode.CONTINUOUS.value: 30,
            RecordingMode.SCHEDULE.value: 30,
            RecordingMode.SESSION.value: 180,
            RecordingMode.MANUAL.value: 90,
        }
    )
    default_days: int = 30
    #: Days kept after a linked case closes, by dispute type; ``case_default_days`` otherwise.
    case_days_by_type: Mapping[str, int] = field(default_factory=dict)
    case_default_days: int = 3 * 365


@dataclass(frozen=True, slots=True)
class Decision:
    recording_id: str
    delete: bool
    reason: str


def legal_hold(recording: RecordingFacts) -> str | None:
    """Why a case holds this recording, or None."""
    open_cases = [c for c in recording.cases if c.status != CLOSED_STATUS]
    if not open_cases:
        return None
    listed = ", ".join(f"{c.number} ({c.status})" for c in open_cases)
    return f"legal hold: linked to open case {listed}"


def retention_decisions(
    recordings: Iterable[RecordingFacts], rules: RetentionRules, now: datetime
) -> list[Decision]:
    out: list[Decision] = []
    for rec in recordings:
        if rec.active:
            out.append(Decision(rec.recording_id, False, "still recording"))
            continue
        assert rec.ended_at is not None
        hold = legal_hold(rec)
        if hold is not None:
            out.append(Decision(rec.recording_id, False, hold))
            continue
        if rec.cases:
            keep_until, why = _case_keep_until(rec.cases, rules)
            if keep_until is None:
                out.append(Decision(rec.recording_id, False, why))
                continue
        else:
            days = rules.days_by_mode.get(rec.mode, rules.default_days)
            keep_until = rec.ended_at + timedelta(days=days)
            why = f"{rec.mode} recordings are kept {days} days"
        if now >= keep_until:
            out.append(Decision(rec.recording_id, True, f"retention expired: {why}"))
        else:
            out.append(Decision(rec.recording_id, False, f"kept until {keep_until:%Y-%m-%d}"))
    return out


def _case_keep_until(
    cases: Sequence[CaseFacts], rules: RetentionRules
) -> tuple[datetime | None, str]:
    """The latest keep-until over the (closed) linked cases; None keeps it for good."""
    best: datetime | None = None
    why = ""
    for case in cases:
        if case.closed_at is None:
            return None, f"case {case.number} is closed without a closing date: kept"
        days = rules.case_days_by_type.get(case.dispute_type, rules.case_default_days)
        until = case.closed_at + timedelta(days=days)
        if best is None or until > best:
            best = until
            why = (
                f"case {case.number} ({case.dispute_type}) closed "
                f"{case.closed_at:%Y-%m-%d}, kept {days} days"
            )
    return best, why


@dataclass(frozen=True, slots=True)
class DiskRules:
    low_free_ratio: float = 0.10  # below this the guard acts and raises the alarm
    critical_free_ratio: float = 0.05  # below this it also stops non-evidence recordings
    target_free_ratio: float = 0.15  # what it frees up to


@dataclass(frozen=True, slots=True)
class DiskPlan:
    alarm: str | None
    delete: tuple[Decision, ...] = ()
    stop: tuple[Decision, ...] = ()


def low_disk_plan(
    total: int, free: int, recordings: Sequence[RecordingFacts], rules: DiskRules
) -> DiskPlan:
    """What to remove (non-evidence first, oldest first, never a held recording) and stop."""
    if total <= 0 or free >= total * rules.low_free_ratio:
        return DiskPlan(None)
    need = int(total * rules.target_free_ratio) - free
    finished = [r for r in recordings if not r.active and legal_hold(r) is None]
    plain = sorted((r for r in finished if not r.cases), key=lambda r: r.started_at)
    evidence = sorted((r for r in finished if r.cases), key=lambda r: r.started_at)
    delete: list[Decision] = []
    freed = 0
    for rec in [*plain, *evidence]:
        if freed >= need:
            break
        kind = "closed-case evidence" if rec.cases else "non-evidence"
        delete.append(
            Decision(rec.recording_id, True, f"low disk: {free * 100 // total}% free, {kind}")
        )
        freed += rec.bytes
    stop: list[Decision] = []
    if free + freed < total * rules.critical_free_ratio:
        for rec in recordings:
            if rec.active and not rec.cases and rec.mode != RecordingMode.SESSION.value:
                stop.append(Decision(rec.recording_id, False, "low disk: stopped, not evidence"))
    alarm = (
        f"low disk: {free * 100 / total:.1f}% free; removing {len(delete)} recording(s) "
        f"({freed // (1 << 20)} MiB)"
        + (f", stopping {len(stop)}" if stop else "")
        + ("" if freed >= need else "; still short: held evidence is never removed")
    )
    return DiskPlan(alarm, tuple(delete), tuple(stop))


@dataclass(frozen=True, slots=True)
class Clip:
    """Part of one segment: seconds from the segment's start."""

    name: str
    offset: float
    duration: float


def clips_for_range(
    segments: Iterable[tuple[str, datetime, datetime]], start: datetime, end: datetime
) -> list[Clip]:
    """The parts of ``segments`` (name, start, end) that fall inside ``[start, end)``."""
    if end <= start:
        raise ValueError(f"range end {end.isoformat()} must be after its start {start.isoformat()}")
    clips: list[Clip] = []
    for name, seg_start, seg_end in sorted(segments, key=lambda s: s[1]):
        lo, hi = max(seg_start, start), min(seg_end, end)
        if hi <= lo:
            continue
        clips.append(Clip(name, (lo - seg_start).total_seconds(), (hi - lo).total_seconds()))
    return clips
