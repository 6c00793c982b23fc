"""The schedule core: weekly dates in Beijing time, occurrence ids, clocks, default attendees."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings import (
    AttendeeRole,
    MeetingKind,
    OccurrenceKey,
    SeriesRule,
    beijing_date,
    default_attendees,
    occurrence_dates,
    parse_clock,
    parse_occurrence_id,
    short_name,
)
from meetings._schedule import local_start


def test_friday_0900_beijing_is_0100_utc() -> None:
    at = local_start(date(2026, 12, 4), parse_clock("09:00"))
    assert at == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


def test_a_late_evening_utc_instant_is_the_next_beijing_day() -> None:
    assert beijing_date(datetime(2026, 12, 2, 16, 30, tzinfo=UTC)) == date(2026, 12, 3)
    with pytest.raises(ValueError, match="naive"):
        beijing_date(datetime(2026, 12, 2, 16, 30))


def test_weekly_dates_fall_on_the_weekday_within_the_range() -> None:
    rule = SeriesRule(MeetingKind.VILLAGE_WEEKLY, 4, date(2026, 12, 3))  # a Thursday
    days = list(occurrence_dates(rule, date(2026, 11, 1), date(2026, 12, 31)))
    assert days == [
        date(2026, 12, 3),
        date(2026, 12, 10),
        date(2026, 12, 17),
        date(2026, 12, 24),
        date(2026, 12, 31),
    ]
    ended = SeriesRule(MeetingKind.VILLAGE_WEEKLY, 4, date(2026, 12, 3), until=date(2026, 12, 16))
    assert list(occurrence_dates(ended, date(2026, 1, 1), date(2027, 1, 1))) == [
        date(2026, 12, 3),
        date(2026, 12, 10),
    ]


def test_adhoc_has_one_date() -> None:
    rule = SeriesRule(MeetingKind.ADHOC, 2, date(2026, 12, 8))
    assert list(occurrence_dates(rule, date(2026, 12, 1), date(2026, 12, 31))) == [
        date(2026, 12, 8)
    ]
    assert list(occurrence_dates(rule, date(2026, 12, 9), date(2026, 12, 31))) == []


def test_a_weekly_series_must_start_on_its_weekday() -> None:
    with pytest.raises(ValueError, match="weekday"):
        SeriesRule(MeetingKind.TOWNSHIP_WEEKLY, 5, date(2026, 12, 3))
    with pytest.raises(ValueError, match="weekday must be"):
        SeriesRule(MeetingKind.TOWNSHIP_WEEKLY, 8, date(2026, 12, 3))


@given(
    first=st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    span=st.integers(0, 200),
    offset=st.integers(-30, 200),
)
def test_weekly_dates_property(first: date, span: int, offset: int) -> None:
    rule = SeriesRule(MeetingKind.VILLAGE_WEEKLY, first.isoweekday(), first)
    start = first + timedelta(days=offset)
    end = start + timedelta(days=span)
    days = list(occurrence_dates(rule, start, end))
    expected = [
        start + timedelta(days=i)
        for i in range(span + 1)
        if rule.holds_on(start + timedelta(days=i))
    ]
    assert days == expected
    assert all(d.isoweekday() == first.isoweekday() and d >= first for d in days)


@given(series=st.integers(1, 10**9), day=st.dates(date(1990, 1, 1), date(2099, 12, 31)))
def test_occurrence_id_round_trip(series: int, day: date) -> None:
    key = OccurrenceKey(series, day)
    assert parse_occurrence_id(key.id) == key


@given(st.text(max_size=30))
def test_occurrence_id_parser_refuses_or_round_trips(text: str) -> None:
    try:
        key = parse_occurrence_id(text)
    except ValueError as exc:
        assert "occurrence id" in str(exc) or "not a date" in str(exc)
    else:
        assert key.id == text


@pytest.mark.parametrize("text", ["9:00", "24:00", "09:60", "0900", "", "09:00:00", "０９:００"])
def test_bad_clocks_are_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock(text)


@given(st.integers(0, 23), st.integers(0, 59))
def test_clock_round_trip(hour: int, minute: int) -> None:
    assert f"{parse_clock(f'{hour:02d}:{minute:02d}'):%H:%M}" == f"{hour:02d}:{minute:02d}"


def test_short_names_fit_on_a_tile() -> None:
    assert short_name("和平溪乡和平溪村综治中心") == "和平溪村"
    assert short_name("麻阳苗族自治县和平溪乡综治中心") == "和平溪乡"
    assert short_name("高村镇陶伊村综治中心") == "陶伊村"
    assert short_name("麻阳苗族自治县高村镇综治中心") == "高村镇"


def test_township_defaults_expect_every_village_and_the_political_legal_units() -> None:
    attendees = default_attendees(
        MeetingKind.TOWNSHIP_WEEKLY,
        ("431226203000", "麻阳苗族自治县和平溪乡综治中心"),
        [
            ("431226203202", "和平溪乡楠木桥村综治中心"),
            ("431226203201", "和平溪乡和平溪村综治中心"),
        ],
    )
    roles = [a.role for a in attendees]
    assert roles[0] is AttendeeRole.HOST
    for role in (
        AttendeeRole.LINKED_LEADER,
        AttendeeRole.RESIDENT_OFFICIAL,
        AttendeeRole.POLICE_STATION,
        AttendeeRole.JUDICIAL_OFFICE,
        AttendeeRole.COURT,
        AttendeeRole.STATION,
    ):
        assert role in roles
    villages = [(a.site, a.unit_code) for a in attendees if a.role is AttendeeRole.VILLAGE]
    assert villages == [("和平溪村", "431226203201"), ("楠木桥村", "431226203202")]
    village = default_attendees(
        MeetingKind.VILLAGE_WEEKLY, ("431226203201", "和平溪乡和平溪村综治中心")
    )
    assert [a.role for a in village] == [
        AttendeeRole.HOST,
        AttendeeRole.LINKED_LEADER,
        AttendeeRole.RESIDENT_OFFICIAL,
    ]


@given(st.text(max_size=200))
def test_ics_text_folds_under_75_octets_and_unfolds_to_the_escaped_text(text: str) -> None:
    from meetings._ics import escape_text, fold_line

    line = "SUMMARY:" + escape_text(text)
    folded = fold_line(line)
    assert all(len(part.encode("utf-8")) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
    assert "\n" not in escape_text(text) and "\r" not in escape_text(text)
