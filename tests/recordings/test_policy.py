"""Pure rules: retention, legal hold, the low-disk guard, schedules, ranges, names, salvage."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from recordings import (
    CaseFacts,
    DiskRules,
    RecordingFacts,
    RetentionRules,
    RoomPolicy,
    WeeklyWindow,
)
from recordings._fmp4 import complete_length
from recordings._naming import new_recording_id, parse_segment_name, recording_dir, segment_name
from recordings._policy import (
    RecordingMode,
    clips_for_range,
    legal_hold,
    low_disk_plan,
    retention_decisions,
    room_policy,
    should_record,
)

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
OPEN = CaseFacts(1, "和平溪2026-001", "escalated", "land", None)
CLOSED = CaseFacts(2, "和平溪2026-002", "closed", "family", NOW - timedelta(days=40))


def rec(
    rid: str,
    *,
    days_ago: float,
    cases: tuple[CaseFacts, ...] = (),
    mode: str = "manual",
    active: bool = False,
    size: int = 100,
) -> RecordingFacts:
    start = NOW - timedelta(days=days_ago)
    return RecordingFacts(
        rid, mode, start, None if active else start + timedelta(hours=1), size, cases
    )


def test_retention_removes_only_what_it_may() -> None:
    rules = RetentionRules(case_days_by_type={"family": 30})
    recs = [
        rec("old-plain", days_ago=100),
        rec("young-plain", days_ago=10),
        rec("old-held", days_ago=400, cases=(OPEN,)),
        rec("closed-expired", days_ago=400, cases=(CLOSED,)),
        rec("closed-and-open", days_ago=400, cases=(CLOSED, OPEN)),
        rec("active", days_ago=500, active=True),
        rec("old-continuous", days_ago=31, mode="continuous"),
    ]
    decisions = {d.recording_id: d for d in retention_decisions(recs, rules, NOW)}
    deleted = {rid for rid, d in decisions.items() if d.delete}
    assert deleted == {"old-plain", "closed-expired", "old-continuous"}
    assert "legal hold" in decisions["old-held"].reason
    assert "和平溪2026-001" in decisions["closed-and-open"].reason
    assert "family" in decisions["closed-expired"].reason
    # a longer period for the case type keeps the closed case's recording
    longer = RetentionRules(case_days_by_type={"family": 60})
    kept = {d.recording_id for d in retention_decisions(recs, longer, NOW) if d.delete}
    assert "closed-expired" not in kept


def test_legal_hold_only_for_open_cases() -> None:
    assert legal_hold(rec("a", days_ago=1, cases=(OPEN,))) is not None
    assert legal_hold(rec("b", days_ago=1, cases=(CLOSED,))) is None
    assert legal_hold(rec("c", days_ago=1)) is None


def test_low_disk_guard_non_evidence_first_never_held() -> None:
    recs = [
        rec("held", days_ago=300, cases=(OPEN,), size=10_000),
        rec("evidence-closed", days_ago=200, cases=(CLOSED,), size=10_000),
        rec("plain-old", days_ago=50, size=10_000),
        rec("plain-new", days_ago=5, size=10_000),
        rec("live", days_ago=0, active=True, mode="continuous"),
        rec("live-session", days_ago=0, active=True, mode="session", cases=(OPEN,)),
    ]
    assert low_disk_plan(100_000, 50_000, recs, DiskRules()).alarm is None
    plan = low_disk_plan(100_000, 8_000, recs, DiskRules())
    assert [d.recording_id for d in plan.delete] == ["plain-old"]
    assert plan.alarm and "low disk" in plan.alarm and not plan.stop
    plan = low_disk_plan(100_000, 1_000, recs, DiskRules())
    assert [d.recording_id for d in plan.delete] == ["plain-old", "plain-new"]
    plan = low_disk_plan(1_000_000, 1_000, recs, DiskRules())
    ids = [d.recording_id for d in plan.delete]
    assert ids == ["plain-old", "plain-new", "evidence-closed"] and "held" not in ids
    assert [d.recording_id for d in plan.stop] == ["live"]
    assert plan.alarm is not None and "held evidence is never removed" in plan.alarm


def test_room_policies() -> None:
    window = WeeklyWindow(frozenset({0, 1, 2, 3, 4}), time(8), time(17, 30))
    monday_9 = datetime(2026, 11, 23, 9, 0)
    sunday_9 = datetime(2026, 11, 29, 9, 0)
    schedule = RoomPolicy(RecordingMode.SCHEDULE, (window,))
    assert should_record(schedule, monday_9, session_running=False)
    assert not should_record(schedule, sunday_9, session_running=False)
    session = RoomPolicy(RecordingMode.SESSION)
    assert should_record(session, sunday_9, session_running=True)
    assert not should_record(session, monday_9, session_running=False)
    assert should_record(RoomPolicy(RecordingMode.CONTINUOUS), sunday_9, session_running=False)
    with pytest.raises(ValueError, match="after its start"):
        WeeklyWindow(frozenset({0}), time(9), time(8))


def test_room_policy_from_the_callers_choice() -> None:
    policy = room_policy("schedule", [([0, 1], "08:00", "17:30")])
    assert policy == RoomPolicy(
        RecordingMode.SCHEDULE, (WeeklyWindow(frozenset({0, 1}), time(8), time(17, 30)),)
    )
    assert room_policy("off", []) == RoomPolicy(RecordingMode.OFF)
    assert room_policy("session", []).mode is RecordingMode.SESSION
    for mode, windows, words in [
        ("manual", [], "manual is not a room policy"),
        ("sometimes", [], "one of off, continuous, schedule, session, not 'sometimes'"),
        ("schedule", [], "needs at least one weekly window"),
        ("schedule", [([0], "9", "10:00")], "schedule window 1: a time of day is HH:MM"),
        ("schedule", [([7], "08:00", "09:00")], "schedule window 1: weekdays must be among"),
        ("continuous", [([0], "08:00", "09:00"), ([0], "10:00", "09:00")], "window 2: .*after"),
    ]:
        with pytest.raises(ValueError, match=words):
            room_policy(mode, windows)


def test_time_ranges() -> None:
    t0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    segs = [
        (f"s{i}", t0 + timedelta(seconds=60 * i), t0 + timedelta(seconds=60 * (i + 1)))
        for i in range(3)
    ]
    clips = clips_for_range(segs, t0 + timedelta(seconds=30), t0 + timedelta(seconds=130))
    assert [(c.name, c.offset, c.duration) for c in clips] == [
        ("s0", 30.0, 30.0),
        ("s1", 0.0, 60.0),
        ("s2", 0.0, 10.0),
    ]
    assert clips_for_range(segs, t0 - timedelta(hours=2), t0 - timedelta(hours=1)) == []
    with pytest.raises(ValueError, match="after its start"):
        clips_for_range(segs, t0, t0)


def test_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rid = new_recording_id(NOW)
    assert recording_dir(tmp_path, rid) == tmp_path / "2026" / "11" / rid
    with pytest.raises(ValueError, match="not a recording id"):
        recording_dir(tmp_path, "../../etc")
    name = segment_name(3, NOW + timedelta(milliseconds=250))
    assert name == "seg-000003-20261127T080000.250Z.mp4"
    assert parse_segment_name(name) == (3, NOW + timedelta(milliseconds=250))
    assert parse_segment_name("manifest.json") is None


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def test_salvage_keeps_whole_fragments_only() -> None:
    head = _box(b"ftyp", b"isom") + _box(b"moov", b"x" * 20)
    frag = _box(b"moof", b"m" * 10) + _box(b"mdat", b"d" * 50)
    assert complete_length(head) == 0  # no media yet
    assert complete_length(head + frag) == len(head + frag)
    torn = head + frag + frag[:-7]
    assert complete_length(torn) == len(head + frag)
    moof_only = head + frag + _box(b"moof", b"m" * 10)
    assert complete_length(moof_only) == len(head + frag)
