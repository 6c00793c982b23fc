"""The meeting schedule service: series, occurrences, one-off changes, start and end.

Every method runs in one transaction and audits what it changes; every refusal comes
before anything is written.  A caller sees a meeting when its unit lies in the caller's
scope (一级一权限), when the caller's unit is one of its required attendees (a village at
the township's Friday meeting), or when the caller chairs it; anything else is "not
found", the same answer as for a meeting that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import (
    Database,
    Permission,
    Principal,
    Role,
    Unit,
    User,
    authorize,
    can,
    contains,
    level_of,
    record,
    scope_prefix,
    utcnow,
)
from core import Level as UnitLevel
from meetings._attendance import (
    AttendanceReport,
    AttendanceStatus,
    Event,
    MonthlyMeeting,
    MonthlySummary,
    Required,
    attendance,
)
from meetings._attendees import AttendeeRole, RequiredAttendee, default_attendees, short_name
from meetings._errors import (
    InvalidMeetingInputError,
    MeetingNotFoundError,
    MeetingStateError,
    NotChairError,
)
from meetings._ics import calendar_ics
from meetings._inputs import (
    AttendeeView,
    OccurrenceChange,
    OccurrenceView,
    SeriesInput,
    SeriesView,
)
from meetings._models import (
    MeetingAttendeeRow,
    MeetingEventRow,
    MeetingOccurrenceRow,
    MeetingSeriesRow,
)
from meetings._schedule import (
    BEIJING,
    MeetingKind,
    OccurrenceKey,
    SeriesRule,
    beijing_date,
    first_on_or_after,
    local_start,
    occurrence_dates,
    parse_clock,
    parse_occurrence_id,
    parse_weekday,
)

__all__ = ["MAX_RANGE_DAYS", "MeetingService", "parse_day"]

log = logging.getLogger("gateway.meetings")

MAX_RANGE_DAYS = 400
MAX_DURATION = 8 * 60


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidMeetingInputError(f"{what} must be YYYY-MM-DD, got {text[:40]!r}") from None


def _bad(message: str) -> InvalidMeetingInputError:
    return InvalidMeetingInputError(message)


class MeetingService:
    """Schedules and the state of occurrences; the room itself lives in :mod:`meetings._room`."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        feed_key: bytes | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        # signs each person's calendar feed link (a calendar app cannot sign in)
        self._feed_key = feed_key or secrets.token_bytes(32)

    def now(self) -> datetime:
        return self._clock()

    # ------------------------------------------------------------------ series
    async def create_series(self, actor: Principal, data: SeriesInput) -> SeriesView:
        try:
            kind = MeetingKind(data.kind)
        except ValueError:
            raise _bad(
                f"kind must be one of {', '.join(k.value for k in MeetingKind)}, got {data.kind!r}"
            ) from None
        title = data.title.strip()
        if not title:
            raise _bad("a meeting needs a title")
        try:
            clock = parse_clock(data.start)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        if not 5 <= data.duration_minutes <= MAX_DURATION:
            raise _bad(f"duration_minutes must be 5 … {MAX_DURATION}")
        async with self._db.transaction() as session:
            unit = await session.get(Unit, data.unit)
            if unit is None or not can(actor, Permission.ORG_READ, data.unit):
                raise MeetingNotFoundError(f"no unit {data.unit[:12]} in your scope")
            authorize(actor, Permission.MEETING_CHAIR, unit.code)
            level = level_of(unit.code)
            if kind is MeetingKind.VILLAGE_WEEKLY and level is not UnitLevel.VILLAGE:
                raise _bad("a village weekly meeting is held by a village (community) centre")
            if kind is MeetingKind.TOWNSHIP_WEEKLY and level is not UnitLevel.TOWNSHIP:
                raise _bad("a township weekly meeting is held by a township centre")
            first, weekday = self._first_date(kind, data)
            until = parse_day(data.until, "until") if data.until else None
            try:
                rule = SeriesRule(kind, weekday, first, until)
            except ValueError as exc:
                raise _bad(str(exc)) from None
            chair = await self._chair(session, actor, kind, unit.code, data.chair)
            attendees = await self._attendees(session, kind, unit, data)
            row = MeetingSeriesRow(
                unit_code=unit.code,
                title=title,
                kind=kind.value,
                weekday=rule.weekday,
                start=f"{clock:%H:%M}",
                duration_minutes=data.duration_minutes,
                first_day=rule.first,
                until_day=rule.until,
                chair=chair,
                created_by=actor.actor,
            )
            session.add(row)
            await session.flush()
            rows = [
                MeetingAttendeeRow(
                    series_id=row.id,
                    role=a.role.value,
                    site=a.site,
                    unit_code=a.unit_code,
                    position=i,
                )
                for i, a in enumerate(attendees)
            ]
            session.add_all(rows)
            await record(
                session,
                actor,
                "meeting.series.create",
                object_type="meeting",
                object_id=row.id,
                unit_code=unit.code,
                detail={
                    "kind": kind.value,
                    "weekday": rule.weekday,
                    "start": row.start,
                    "chair": chair,
                    "attendees": len(rows),
                },
            )
            return _series_view(row, unit.name, rows)

    def _first_date(self, kind: MeetingKind, data: SeriesInput) -> tuple[date, int]:
        today = beijing_date(self._clock())
        if kind is MeetingKind.ADHOC:
            if not data.date:
                raise _bad("an ad-hoc meeting needs its date (YYYY-MM-DD)")
            day = parse_day(data.date)
            return day, day.isoweekday()
        default = kind.default_weekday
        assert default is not None
        try:
            weekday = parse_weekday(data.weekday if data.weekday is not None else default)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        first = parse_day(data.date) if data.date else first_on_or_after(today, weekday)
        if first.isoweekday() != weekday:
            raise _bad(f"the first date {first} is not on the series' weekday ({weekday})")
        return first, weekday

    async def _chair(
        self,
        session: AsyncSession,
        actor: Principal,
        kind: MeetingKind,
        unit_code: str,
        username: str | None,
    ) -> str:
        """The chair's username: given, the township's chair for its Friday meeting, or
        the creator; it must be an active account that may chair meetings of the unit."""
        if username is None:
            if kind is MeetingKind.TOWNSHIP_WEEKLY:
                found = await session.scalar(
                    select(User.username)
                    .where(
                        User.unit_code == unit_code,
                        User.role == Role.CHAIR.value,
                        User.disabled.is_(False),
                    )
                    .order_by(User.username)
                    .limit(1)
                )
                if found is None:
                    raise _bad(
                        "this township has no account with the chair role (政法委员); "
                        "create one or name the chair"
                    )
                return found
            if actor.kind != "user":
                raise _bad("name the chair (a username)")
            username = actor.name
        user = await session.scalar(select(User).where(User.username == username))
        if user is None or user.disabled:
            raise _bad(f"no active account {username[:64]!r} to chair the meeting")
        chair = Principal("user", user.id, user.username, user.unit_code, Role(user.role))
        if not can(chair, Permission.MEETING_CHAIR, unit_code):
            raise _bad(
                f"{username} cannot chair this meeting: the chair needs the chair or admin "
                "role in the meeting's unit or above"
            )
        return user.username

    async def _attendees(
        self, session: AsyncSession, kind: MeetingKind, unit: Unit, data: SeriesInput
    ) -> list[RequiredAttendee]:
        if data.attendees is None:
            villages: list[tuple[str, str]] = []
            if kind is MeetingKind.TOWNSHIP_WEEKLY:
                rows = await session.execute(
                    select(Unit.code, Unit.name).where(Unit.parent_code == unit.code)
                )
                villages = [(str(c), str(n)) for c, n in rows]
            return default_attendees(kind, (unit.code, unit.name), villages)
        out: list[RequiredAttendee] = []
        seen: set[str] = set()
        for i, a in enumerate(data.attendees):
            try:
                role = AttendeeRole(a.role)
            except ValueError:
                raise _bad(
                    f"attendees[{i}].role must be one of {', '.join(r.value for r in AttendeeRole)}"
                ) from None
            site = a.site.strip()
            if not site:
                raise _bad(f"attendees[{i}].site must name the site")
            if site in seen:
                raise _bad(f"attendees[{i}]: site {site!r} is listed twice")
            seen.add(site)
            if a.unit is not None and await session.get(Unit, a.unit) is None:
                raise _bad(f"attendees[{i}].unit: no unit {a.unit[:12]}")
            out.append(RequiredAttendee(role, site, a.unit))
        return out

    # ------------------------------------------------------------- occurrences
    async def occurrences(
        self, actor: Principal, *, unit: str | None, start: date, end: date
    ) -> list[OccurrenceView]:
        """Occurrences visible to ``actor`` whose (possibly moved) start falls on a Beijing
        date in ``start`` … ``end``, in time order; cancelled ones are listed as such."""
        if end < start:
            raise _bad("'to' is before 'from'")
        if (end - start).days > MAX_RANGE_DAYS:
            raise _bad(f"ask for at most {MAX_RANGE_DAYS} days at a time")
        async with self._db.read() as session:
            series = await self._visible_series(session, actor, unit)
            if not series:
                return []
            ids = [s.id for s, _ in series]
            lo, hi = local_start(start, time(0)), local_start(end + timedelta(days=1), time(0))
            overrides = {
                (r.series_id, r.day): r
                for r in await session.scalars(
                    select(MeetingOccurrenceRow).where(
                        MeetingOccurrenceRow.series_id.in_(ids),
                        or_(
                            MeetingOccurrenceRow.day.between(
                                start - timedelta(days=7), end + timedelta(days=7)
                            ),
                            MeetingOccurrenceRow.starts_at.between(lo, hi),
                        ),
                    )
                )
            }
            out: list[OccurrenceView] = []
            for row, unit_name in series:
                rule = _rule(row)
                days = set(occurrence_dates(rule, start, end))
                days |= {d for (sid, d) in overrides if sid == row.id and rule.holds_on(d)}
                for day in days:
                    view = _occurrence_view(row, unit_name, day, overrides.get((row.id, day)))
                    if start <= beijing_date(view.starts_at) <= end:
                        out.append(view)
        out.sort(key=lambda v: (v.starts_at, v.series_id))
        return out

    async def occurrence(self, actor: Principal, occurrence_id: str) -> OccurrenceView:
        """One occurrence with its agenda, minutes and required attendees."""
        async with self._db.read() as session:
            row, unit_name, key, occ = await self._load(session, actor, occurrence_id)
            attendees = await _attendee_rows(session, row.id)
        view = _occurrence_view(row, unit_name, key.day, occ)
        return replace(view, attendees=[_attendee_view(a) for a in attendees])

    async def change(
        self, actor: Principal, occurrence_id: str, change: OccurrenceChange
    ) -> OccurrenceView:
        """Move, shorten, cancel or restore one occurrence; set its agenda or minutes.

        The chair, or whoever may chair meetings of the unit (an administrator)."""
        async with self._db.transaction() as session:
            row, unit_name, key, occ = await self._load(session, actor, occurrence_id)
            _check_manage(actor, row)
            occ = occ or _new_occurrence(key)
            if occ not in session:
                session.add(occ)
            changed: dict[str, object] = {}
            if change.start is not None:
                moved = _parse_local(change.start)
                if occ.state != "scheduled":
                    raise MeetingStateError("a meeting that has started cannot be moved")
                occ.starts_at = moved
                changed["start"] = change.start
            if change.duration_minutes is not None:
                if not 5 <= change.duration_minutes <= MAX_DURATION:
                    raise _bad(f"duration_minutes must be 5 … {MAX_DURATION}")
                occ.duration_minutes = change.duration_minutes
                changed["duration_minutes"] = change.duration_minutes
            if change.cancelled is not None:
                if change.cancelled and occ.state == "running":
                    raise MeetingStateError("the meeting is running; end it first")
                occ.cancelled = change.cancelled
                changed["cancelled"] = change.cancelled
            if change.note is not None:
                occ.note = change.note.strip()
                changed["note"] = occ.note
            if change.agenda is not None:
                occ.agenda = change.agenda
                changed["agenda"] = len(change.agenda)
            if change.minutes is not None:
                occ.minutes = change.minutes
                changed["minutes"] = len(change.minutes)
            if not changed:
                raise _bad(
                    "nothing to change: give start, duration_minutes, cancelled, note, "
                    "agenda or minutes"
                )
            occ.updated_at = utcnow()
            await record(
                session,
                actor,
                "meeting.occurrence.change",
                object_type="meeting",
                object_id=key.id,
                unit_code=row.unit_code,
                detail=changed,
            )
            attendees = await _attendee_rows(session, row.id)
        view = _occurrence_view(row, unit_name, key.day, occ)
        return replace(view, attendees=[_attendee_view(a) for a in attendees])

    async def start(self, actor: Principal, occurrence_id: str, *, node_id: str) -> OccurrenceView:
        """The chair opens the room; ``node_id`` is the process that hosts it.  Starting a
        running meeting again changes nothing (a reloaded chair console)."""
        async with self._db.transaction() as session:
            row, unit_name, key, occ = await self._load(session, actor, occurrence_id)
            _check_chair(actor, row)
            occ = occ or _new_occurrence(key)
            if occ not in session:
                session.add(occ)
            if occ.cancelled:
                raise MeetingStateError("this meeting was cancelled; restore it first")
            if occ.state != "running":
                now = self._clock()
                occ.state = "running"
                occ.started_at = now
                occ.ended_at = None
                occ.node_id = node_id
                occ.updated_at = now
                session.add(_event(key, now, "start", actor=actor.actor, detail={"node": node_id}))
                await record(
                    session,
                    actor,
                    "meeting.start",
                    object_type="meeting",
                    object_id=key.id,
                    unit_code=row.unit_code,
                    detail={"node": node_id},
                )
        return _occurrence_view(row, unit_name, key.day, occ)

    async def end(self, actor: Principal, occurrence_id: str) -> OccurrenceView:
        """The chair closes the meeting."""
        async with self._db.transaction() as session:
            row, unit_name, key, occ = await self._load(session, actor, occurrence_id)
            _check_chair(actor, row)
            if occ is None or occ.state != "running":
                raise MeetingStateError("the meeting is not running")
            await self._mark_ended(session, row, key, occ, actor.actor, "ended by the chair")
            await record(
                session,
                actor,
                "meeting.end",
                object_type="meeting",
                object_id=key.id,
                unit_code=row.unit_code,
                detail={},
            )
        return _occurrence_view(row, unit_name, key.day, occ)

    async def _mark_ended(
        self,
        session: AsyncSession,
        row: MeetingSeriesRow,
        key: OccurrenceKey,
        occ: MeetingOccurrenceRow,
        actor: str,
        reason: str,
    ) -> None:
        now = self._clock()
        occ.state = "ended"
        occ.ended_at = now
        occ.node_id = None
        occ.updated_at = now
        session.add(_event(key, now, "end", actor=actor, detail={"reason": reason}))

    async def end_hosted_by(self, node_id: str, reason: str) -> list[str]:
        """End every running occurrence hosted by ``node_id`` (its process stopped)."""
        async with self._db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(MeetingOccurrenceRow).where(
                        MeetingOccurrenceRow.state == "running",
                        MeetingOccurrenceRow.node_id == node_id,
                    )
                )
            )
            ended = []
            for occ in rows:
                series = await session.get(MeetingSeriesRow, occ.series_id)
                assert series is not None
                key = OccurrenceKey(occ.series_id, occ.day)
                await self._mark_ended(session, series, key, occ, "system:gateway", reason)
                ended.append(key.id)
        return ended

    # ------------------------------------------------------------------ the room
    async def record_event(
        self,
        occurrence_id: str,
        kind: str,
        *,
        participant: str = "",
        site: str = "",
        actor: str = "",
        detail: dict[str, object] | None = None,
    ) -> None:
        """Append one event of the occurrence's room (join, leave, roll call …)."""
        key = parse_occurrence_id(occurrence_id)
        async with self._db.transaction() as session:
            session.add(
                _event(
                    key,
                    self._clock(),
                    kind,
                    participant=participant,
                    site=site[:100],
                    actor=actor,
                    detail=detail,
                )
            )

    async def events(self, occurrence_id: str) -> list[MeetingEventRow]:
        """Every event of an occurrence in the order they happened (unchecked: callers
        have loaded the occurrence for the caller first)."""
        key = parse_occurrence_id(occurrence_id)
        async with self._db.read() as session:
            rows = await session.scalars(
                select(MeetingEventRow)
                .where(MeetingEventRow.series_id == key.series_id, MeetingEventRow.day == key.day)
                .order_by(MeetingEventRow.id)
            )
            return list(rows)

    async def host(self, occurrence_id: str, node_id: str) -> None:
        """This process hosts the running occurrence's room from now on (its previous
        host stopped)."""
        key = parse_occurrence_id(occurrence_id)
        async with self._db.transaction() as session:
            occ = await session.get(MeetingOccurrenceRow, (key.series_id, key.day))
            if occ is not None and occ.state == "running" and occ.node_id != node_id:
                previous = occ.node_id
                occ.node_id = node_id
                occ.updated_at = self._clock()
                session.add(
                    _event(
                        key, self._clock(), "host", detail={"node": node_id, "previous": previous}
                    )
                )

    async def site_name(self, principal: Principal) -> str:
        """What a participant's tile says when it names no site: its unit's short name."""
        async with self._db.read() as session:
            unit = await session.get(Unit, principal.unit_code)
        return short_name(unit.name) if unit is not None else principal.name

    # ---------------------------------------------------------------- calendar
    def _feed_mac(self, user: User) -> str:
        message = f"{user.id}:{user.username}:{user.password_changed_at.isoformat()}"
        return hmac.new(self._feed_key, message.encode(), hashlib.sha256).hexdigest()[:32]

    async def feed_path(self, actor: Principal) -> str:
        """The secret path of the caller's calendar feed; changing the password renews it."""
        if actor.kind != "user":
            raise _bad("calendar feeds are for personal accounts")
        async with self._db.read() as session:
            user = await session.get(User, actor.id)
        if user is None:
            raise MeetingNotFoundError("no such account")
        return f"/api/meetings/calendar/{user.id}-{self._feed_mac(user)}.ics"

    async def feed(self, name: str, *, base_url: str) -> str:
        """The ICS text of the feed named ``<user id>-<mac>``: that person's meetings from
        two weeks back to eight weeks ahead (404 for a wrong or outdated link)."""
        user_id, _, mac = name.partition("-")
        missing = MeetingNotFoundError(
            "no such calendar; copy the link again from the meetings page"
        )
        if not user_id.isdigit():
            raise missing
        async with self._db.read() as session:
            user = await session.get(User, int(user_id))
        if user is None or user.disabled or not hmac.compare_digest(self._feed_mac(user), mac):
            raise missing
        principal = Principal("user", user.id, user.username, user.unit_code, Role(user.role))
        today = beijing_date(self._clock())
        views = await self.occurrences(
            principal, unit=None, start=today - timedelta(days=14), end=today + timedelta(days=56)
        )
        return calendar_ics(
            views,
            name=f"视频会议 · {user.display_name or user.username}",
            base_url=base_url,
            now=self._clock(),
        )

    # -------------------------------------------------------------- attendance
    async def attendance(self, actor: Principal, occurrence_id: str) -> AttendanceReport:
        """The occurrence's attendance against its required attendees, from its events."""
        async with self._db.read() as session:
            row, unit_name, key, occ = await self._load(session, actor, occurrence_id)
            required = await _attendee_rows(session, row.id)
            events = await _event_rows(session, [key])
        view = _occurrence_view(row, unit_name, key.day, occ)
        return _report(view, required, events.get(key, []), self._clock())

    async def monthly(self, actor: Principal, unit: str, month: str) -> MonthlySummary:
        """Every occurrence of the unit's meetings in a Beijing month, with its attendance
        counts, and each required site's totals over the month."""
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise _bad(f"month must be YYYY-MM, got {month[:20]!r}") from None
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        views = await self.occurrences(actor, unit=unit, start=first, end=last)
        views = [v for v in views if v.unit == unit]
        keys = [OccurrenceKey(v.series_id, v.day) for v in views]
        async with self._db.read() as session:
            unit_row = await session.get(Unit, unit)
            events = await _event_rows(session, keys)
            required: dict[int, list[MeetingAttendeeRow]] = {}
            for v in views:
                if v.series_id not in required:
                    required[v.series_id] = await _attendee_rows(session, v.series_id)
        now = self._clock()
        meetings: list[MonthlyMeeting] = []
        sites: dict[str, dict[str, int]] = {}
        for v, key in zip(views, keys, strict=True):
            report = _report(v, required[v.series_id], events.get(key, []), now)
            held = v.started_at is not None
            meetings.append(
                MonthlyMeeting(
                    id=v.id,
                    title=v.title,
                    local_start=v.local_start,
                    state="cancelled" if v.cancelled else (v.state if held else "not_held"),
                    present=report.count(AttendanceStatus.PRESENT),
                    late=report.count(AttendanceStatus.LATE),
                    absent=report.count(AttendanceStatus.ABSENT),
                    left_early=sum(1 for e in report.entries if e.required and e.left_early),
                    roll_calls=len(report.roll_calls),
                    answered=sum(1 for c in report.roll_calls if c.answered_at is not None),
                )
            )
            if not held or v.cancelled:
                continue
            for entry in report.entries:
                if not entry.required:
                    continue
                totals = sites.setdefault(
                    entry.site, {"present": 0, "late": 0, "absent": 0, "left_early": 0}
                )
                totals[entry.status.value] += 1
                totals["left_early"] += int(entry.left_early)
        return MonthlySummary(
            unit, month, meetings, sites, unit_name=unit_row.name if unit_row else unit
        )

    # ----------------------------------------------------------------- internals
    async def _visible_series(
        self, session: AsyncSession, actor: Principal, unit: str | None
    ) -> list[tuple[MeetingSeriesRow, str]]:
        query = select(MeetingSeriesRow, Unit.name).join(
            Unit, Unit.code == MeetingSeriesRow.unit_code
        )
        if unit is not None:
            if await session.get(Unit, unit) is None or not (
                actor.kind == "system"
                or contains(actor.unit_code, unit)
                or contains(unit, actor.unit_code)
            ):
                raise MeetingNotFoundError(f"no unit {unit[:12]} in your scope")
            query = query.where(MeetingSeriesRow.unit_code == unit)
        elif actor.kind != "system":
            attending = select(MeetingAttendeeRow.series_id).where(
                MeetingAttendeeRow.unit_code == actor.unit_code
            )
            query = query.where(
                or_(
                    MeetingSeriesRow.unit_code.startswith(
                        scope_prefix(actor.unit_code), autoescape=True
                    ),
                    MeetingSeriesRow.id.in_(attending),
                    MeetingSeriesRow.chair == actor.name,
                )
            )
        rows = [(s, n) for s, n in (await session.execute(query.order_by(MeetingSeriesRow.id)))]
        attended = await self._attended(session, actor, [s.id for s, _ in rows])
        return [(s, n) for s, n in rows if _visible(actor, s, attended)]

    async def _attended(
        self, session: AsyncSession, actor: Principal, series_ids: Sequence[int]
    ) -> set[int]:
        if not series_ids or actor.kind == "system":
            return set()
        found = await session.scalars(
            select(MeetingAttendeeRow.series_id).where(
                MeetingAttendeeRow.series_id.in_(series_ids),
                MeetingAttendeeRow.unit_code == actor.unit_code,
            )
        )
        return set(found)

    async def _load(
        self, session: AsyncSession, actor: Principal, occurrence_id: str
    ) -> tuple[MeetingSeriesRow, str, OccurrenceKey, MeetingOccurrenceRow | None]:
        """The occurrence's series (visible to ``actor``), the key and its row if any."""
        try:
            key = parse_occurrence_id(occurrence_id)
        except ValueError as exc:
            raise MeetingNotFoundError(str(exc)) from None
        found = (
            await session.execute(
                select(MeetingSeriesRow, Unit.name)
                .join(Unit, Unit.code == MeetingSeriesRow.unit_code)
                .where(MeetingSeriesRow.id == key.series_id)
            )
        ).first()
        missing = MeetingNotFoundError(f"no meeting {key.id} in your scope")
        if found is None:
            raise missing
        row, unit_name = found
        if not _visible(actor, row, await self._attended(session, actor, [row.id])):
            raise missing
        if not _rule(row).holds_on(key.day):
            raise missing
        occ = await session.get(MeetingOccurrenceRow, (key.series_id, key.day))
        return row, unit_name, key, occ

    async def series_of(self, occurrence_id: str) -> tuple[MeetingSeriesRow, OccurrenceKey]:
        """The series of an occurrence, unchecked (the room's own bookkeeping)."""
        key = parse_occurrence_id(occurrence_id)
        async with self._db.read() as session:
            row = await session.get(MeetingSeriesRow, key.series_id)
        if row is None:
            raise MeetingNotFoundError(f"no meeting {occurrence_id}")
        return row, key


# ---------------------------------------------------------------------- helpers
async def _event_rows(
    session: AsyncSession, keys: Sequence[OccurrenceKey]
) -> dict[OccurrenceKey, list[MeetingEventRow]]:
    out: dict[OccurrenceKey, list[MeetingEventRow]] = {}
    if not keys:
        return out
    series = {k.series_id for k in keys}
    days = {k.day for k in keys}
    rows = await session.scalars(
        select(MeetingEventRow)
        .where(MeetingEventRow.series_id.in_(series), MeetingEventRow.day.in_(days))
        .order_by(MeetingEventRow.id)
    )
    wanted = set(keys)
    for row in rows:
        key = OccurrenceKey(row.series_id, row.day)
        if key in wanted:
            out.setdefault(key, []).append(row)
    return out


def _report(
    view: OccurrenceView,
    required: Sequence[MeetingAttendeeRow],
    events: Sequence[MeetingEventRow],
    now: datetime,
) -> AttendanceReport:
    return attendance(
        occurrence=view.id,
        title=view.title,
        unit=view.unit,
        starts_at=view.starts_at,
        began_at=view.started_at,
        ended_at=view.ended_at,
        required=[Required(a.role, a.site, a.unit_code) for a in required],
        events=[
            Event(
                e.at,
                e.kind,
                e.participant,
                e.site,
                str(e.detail.get("unit"))
                if isinstance(e.detail, dict) and e.detail.get("unit")
                else None,
                e.detail if isinstance(e.detail, dict) else {},
            )
            for e in events
        ],
        now=now,
    )


def _visible(actor: Principal, row: MeetingSeriesRow, attended: set[int]) -> bool:
    if actor.kind == "system":
        return True
    return (
        can(actor, Permission.ORG_READ, row.unit_code)
        or row.id in attended
        or (actor.kind == "user" and row.chair == actor.name)
    )


def _check_chair(actor: Principal, row: MeetingSeriesRow) -> None:
    if actor.kind == "system":
        return
    if actor.kind != "user" or actor.name != row.chair:
        raise NotChairError(f"only the chair of this meeting ({row.chair}) may do this")


def _check_manage(actor: Principal, row: MeetingSeriesRow) -> None:
    if actor.kind == "user" and actor.name == row.chair:
        return
    if not can(actor, Permission.MEETING_CHAIR, row.unit_code):
        raise NotChairError(
            f"only the chair of this meeting ({row.chair}) or an administrator may change it"
        )


def _rule(row: MeetingSeriesRow) -> SeriesRule:
    return SeriesRule(MeetingKind(row.kind), row.weekday, row.first_day, row.until_day)


def _parse_local(text: str) -> datetime:
    try:
        naive = datetime.strptime(text.strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        raise _bad(f"start must be 'YYYY-MM-DD HH:MM' in Beijing time, got {text[:40]!r}") from None
    return naive.replace(tzinfo=BEIJING).astimezone(UTC)


def _new_occurrence(key: OccurrenceKey) -> MeetingOccurrenceRow:
    return MeetingOccurrenceRow(
        series_id=key.series_id,
        day=key.day,
        cancelled=False,
        note="",
        agenda="",
        minutes="",
        state="scheduled",
        updated_at=utcnow(),
    )


def _event(
    key: OccurrenceKey,
    at: datetime,
    kind: str,
    *,
    participant: str = "",
    site: str = "",
    actor: str = "",
    detail: dict[str, object] | None = None,
) -> MeetingEventRow:
    return MeetingEventRow(
        series_id=key.series_id,
        day=key.day,
        at=at,
        kind=kind,
        participant=participant,
        site=site,
        actor=actor,
        detail=detail or {},
    )


async def _attendee_rows(session: AsyncSession, series_id: int) -> list[MeetingAttendeeRow]:
    rows = await session.scalars(
        select(MeetingAttendeeRow)
        .where(MeetingAttendeeRow.series_id == series_id)
        .order_by(MeetingAttendeeRow.position, MeetingAttendeeRow.id)
    )
    return list(rows)


def _attendee_view(row: MeetingAttendeeRow) -> AttendeeView:
    role = AttendeeRole(row.role)
    return AttendeeView(role.value, role.label_zh, row.site, row.unit_code)


def _series_view(
    row: MeetingSeriesRow, unit_name: str, attendees: list[MeetingAttendeeRow]
) -> SeriesView:
    return SeriesView(
        id=row.id,
        unit=row.unit_code,
        unit_name=unit_name,
        title=row.title,
        kind=row.kind,
        weekday=row.weekday,
        start=row.start,
        duration_minutes=row.duration_minutes,
        chair=row.chair,
        first_date=row.first_day,
        until=row.until_day,
        attendees=[_attendee_view(a) for a in attendees],
    )


def _occurrence_view(
    row: MeetingSeriesRow, unit_name: str, day: date, occ: MeetingOccurrenceRow | None
) -> OccurrenceView:
    key = OccurrenceKey(row.id, day)
    starts = local_start(day, parse_clock(row.start))
    duration = row.duration_minutes
    moved = False
    if occ is not None:
        if occ.starts_at is not None:
            moved = occ.starts_at != starts
            starts = occ.starts_at
        if occ.duration_minutes is not None:
            duration = occ.duration_minutes
    return OccurrenceView(
        id=key.id,
        series_id=row.id,
        unit=row.unit_code,
        unit_name=unit_name,
        title=row.title,
        kind=row.kind,
        day=day,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=duration),
        local_start=f"{starts.astimezone(BEIJING):%Y-%m-%d %H:%M}",
        duration_minutes=duration,
        chair=row.chair,
        moved=moved,
        cancelled=bool(occ and occ.cancelled),
        note=occ.note if occ else "",
        state=occ.state if occ else "scheduled",
        started_at=occ.started_at if occ else None,
        ended_at=occ.ended_at if occ else None,
        node_id=occ.node_id if occ else None,
        agenda=occ.agenda if occ else "",
        minutes=occ.minutes if occ else "",
    )
