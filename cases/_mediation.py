"""Mediation sessions (调解): schedule, start (recording the room), finish with an outcome,
or record a session just held.

A session takes place in a *mediation room of the unit that holds the case* at the time;
any other room is refused before anything is written.  Talking to the recorder happens
outside the database transaction (a camera can take seconds to answer, and a transaction
must not hold the write lock meanwhile): the session row is committed first, then the
recording reference is attached in a second short transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases._access import audit_case, load_facts, set_status, writable_case
from cases._errors import InvalidCaseInputError, RoomNotAllowedError, SessionNotAllowed
from cases._inputs import SessionInput, SessionMode, parse_instant
from cases._models import CaseRow, CaseSessionRow
from cases._recorder import NO_RECORDER_NOTE, SessionRecorder
from cases._rules import RulesConfig, check_session
from cases._types import CaseStatus, MediatorKind, Outcome, parse_choice
from cases._views import SessionView
from core import Database, GatewayError, Level, NotFoundError, Principal, Room, RoomKind, utcnow

__all__ = ["MediationSessions", "session_view"]

log = logging.getLogger("gateway.cases")

SCHEDULED, IN_PROGRESS, DONE = "scheduled", "in_progress", "done"
_MAX_NAMES = 30


def _names(values: list[str], what: str) -> list[str]:
    names = [v.strip() for v in values if v.strip()]
    if len(names) > _MAX_NAMES or any(len(n) > 100 for n in names):
        raise InvalidCaseInputError(f"{what}: at most {_MAX_NAMES} names of 100 characters")
    return names


async def session_view(session: AsyncSession, row: CaseSessionRow) -> SessionView:
    room = await session.get(Room, row.room_id)
    return SessionView(
        id=row.id,
        state=row.state,
        level=row.level,
        unit=row.unit_code,
        room_id=row.room_id,
        room_name=room.name if room else "",
        scheduled_for=row.scheduled_for,
        started_at=row.started_at,
        ended_at=row.ended_at,
        mediator_kind=row.mediator_kind,
        mediators=tuple(json.loads(row.mediators)),
        attendees=tuple(json.loads(row.attendees)),
        linked_leader=row.linked_leader,
        resident_official=row.resident_official,
        outcome=row.outcome,
        notes=row.notes,
        recording_id=row.recording_id,
        recording_note=row.recording_note,
    )


class MediationSessions:
    def __init__(
        self,
        db: Database,
        *,
        recorder: SessionRecorder | None,
        rules: RulesConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.rules = rules
        self._clock = clock

    async def add(self, actor: Principal, case_id: int, data: SessionInput) -> SessionView:
        """Schedule, start or record a session; see :class:`cases._inputs.SessionMode`."""
        mode = parse_choice(SessionMode, data.mode, field="mode")
        kind = parse_choice(MediatorKind, data.mediator_kind, field="mediator_kind")
        outcome = parse_choice(Outcome, data.outcome, field="outcome") if data.outcome else None
        if mode is SessionMode.RECORD and outcome is None:
            raise InvalidCaseInputError("a recorded session needs its outcome")
        if mode is not SessionMode.RECORD and outcome is not None:
            raise InvalidCaseInputError("give the outcome when the session is finished")
        mediators = _names(data.mediators, "mediators")
        if not mediators:
            raise InvalidCaseInputError("name at least one mediator")
        attendees = _names(data.attendees, "attendees")
        linked = (data.linked_leader or "").strip() or None
        resident = (data.resident_official or "").strip() or None
        now = self._clock()
        scheduled_for = None
        if mode is SessionMode.SCHEDULE:
            if not data.scheduled_for:
                raise InvalidCaseInputError("a scheduled session needs scheduled_for")
            scheduled_for = parse_instant(data.scheduled_for, "scheduled_for")
            if scheduled_for <= now:
                raise InvalidCaseInputError("schedule the session for a time in the future")
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            room = await self._room(session, case, data.room_id)
            level = Level(case.level)
            if (linked or resident) and level is not Level.VILLAGE:
                raise InvalidCaseInputError(
                    "the linked township leader (联村领导) and resident official (驻村干部) "
                    "are recorded for village-level sessions only"
                )
            check_session(await load_facts(session, case), level, now=now, config=self.rules)
            if mode is SessionMode.START:
                await self._none_running(session, case)
            row = CaseSessionRow(
                case_id=case.id,
                unit_code=case.current_unit,
                level=level.value,
                room_id=room.id,
                state={SessionMode.SCHEDULE: SCHEDULED, SessionMode.START: IN_PROGRESS}.get(
                    mode, DONE
                ),
                scheduled_for=scheduled_for,
                started_at=None if mode is SessionMode.SCHEDULE else now,
                ended_at=now if mode is SessionMode.RECORD else None,
                mediator_kind=kind.value,
                mediators=json.dumps(mediators, ensure_ascii=False),
                attendees=json.dumps(attendees, ensure_ascii=False),
                linked_leader=linked,
                resident_official=resident,
                outcome=outcome.value if outcome else None,
                notes=data.notes.strip(),
                recording_id=None,
                recording_note="" if mode is SessionMode.SCHEDULE else self._pending_note(mode),
                created_by=actor.actor,
            )
            session.add(row)
            await session.flush()
            if mode is not SessionMode.SCHEDULE:
                self._mark_mediation(session, case, actor, now, f"session {row.id}")
            await audit_case(
                session,
                actor,
                f"case.session.{mode.value}",
                case,
                {"session": row.id, "room": room.id, "outcome": row.outcome},
            )
            number = case.number
        if mode is SessionMode.START:
            await self._start_recording(row.id, room.id, number)
        return await self._view(row.id)

    async def start(self, actor: Principal, case_id: int, session_id: int) -> SessionView:
        """Start a scheduled session now, in its room, and start recording the room."""
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            row = await self._row(session, case, session_id)
            if row.state != SCHEDULED:
                raise SessionNotAllowed(
                    f"session {session_id} is {row.state}, not scheduled", code="session_state"
                )
            room = await self._room(session, case, row.room_id)
            now = self._clock()
            check_session(
                await load_facts(session, case), Level(case.level), now=now, config=self.rules
            )
            await self._none_running(session, case)
            row.state, row.started_at = IN_PROGRESS, now
            row.recording_note = self._pending_note(SessionMode.START)
            self._mark_mediation(session, case, actor, now, f"session {row.id}")
            await audit_case(session, actor, "case.session.start", case, {"session": row.id})
            number = case.number
        await self._start_recording(row.id, room.id, number)
        return await self._view(row.id)

    async def finish(
        self, actor: Principal, case_id: int, session_id: int, *, outcome: str, notes: str = ""
    ) -> SessionView:
        """End a running session with its outcome; stop and attach the room's recording."""
        result = parse_choice(Outcome, outcome, field="outcome")
        async with self.db.transaction() as session:
            case = await writable_case(session, actor, case_id)
            row = await self._row(session, case, session_id)
            if row.state != IN_PROGRESS:
                raise SessionNotAllowed(
                    f"session {session_id} is {row.state}, not running", code="session_state"
                )
            row.state, row.ended_at, row.outcome = DONE, self._clock(), result.value
            if notes.strip():
                row.notes = (row.notes + "\n" + notes.strip()).strip()
            await audit_case(
                session,
                actor,
                "case.session.finish",
                case,
                {"session": row.id, "outcome": result.value},
            )
            recording_id = row.recording_id
        if recording_id is not None and self.recorder is not None:
            try:
                ref = await self.recorder.stop(recording_id)
            except GatewayError as exc:
                await self._note(session_id, None, f"recording could not be stopped: {exc}")
            else:
                await self._note(session_id, ref.recording_id, ref.note or "recording attached")
        return await self._view(session_id)

    # ---------------------------------------------------------------- helpers

    def _pending_note(self, mode: SessionMode) -> str:
        if self.recorder is None:
            return NO_RECORDER_NOTE
        return "recording starting" if mode is SessionMode.START else "held without recording"

    def _mark_mediation(
        self, session: AsyncSession, case: CaseRow, actor: Principal, now: datetime, note: str
    ) -> None:
        # Under 包案 the case stays with the leader; otherwise a session means 调解中.
        status = CaseStatus(case.status)
        new = status if status is CaseStatus.LEADER_IN_CHARGE else CaseStatus.IN_MEDIATION
        set_status(session, case, actor, new, "session", now, note)

    async def _room(self, session: AsyncSession, case: CaseRow, room_id: int) -> Room:
        room = await session.get(Room, room_id)
        if room is None or room.unit_code != case.current_unit or room.kind != RoomKind.MEDIATION:
            rooms = await session.scalars(
                select(Room.id).where(
                    Room.unit_code == case.current_unit, Room.kind == RoomKind.MEDIATION.value
                )
            )
            choices = ", ".join(str(r) for r in rooms) or "none registered"
            raise RoomNotAllowedError(
                f"room {room_id} is not a mediation room of unit {case.current_unit}, which "
                f"handles case {case.number}; use one of its mediation rooms ({choices})"
            )
        return room

    async def _row(self, session: AsyncSession, case: CaseRow, session_id: int) -> CaseSessionRow:
        row = await session.get(CaseSessionRow, session_id)
        if row is None or row.case_id != case.id:
            raise NotFoundError(
                f"case {case.number} has no session {session_id}", code="session_not_found"
            )
        return row

    async def _none_running(self, session: AsyncSession, case: CaseRow) -> None:
        running = await session.scalar(
            select(func.count())
            .select_from(CaseSessionRow)
            .where(CaseSessionRow.case_id == case.id, CaseSessionRow.state == IN_PROGRESS)
        )
        if running:
            raise SessionNotAllowed(
                "a session of this case is already running; finish it first",
                code="session_in_progress",
            )

    async def _start_recording(self, session_id: int, room_id: int, number: str) -> None:
        if self.recorder is None:
            return
        try:
            ref = await self.recorder.start(
                room_id=room_id, case_number=number, session_id=session_id
            )
        except GatewayError as exc:
            # The mediation goes on without a recording; the record says so.
            log.warning("recording did not start", extra={"case": number, "error": exc.code})
            await self._note(session_id, None, f"recording could not start: {exc}")
            return
        await self._note(session_id, ref.recording_id, ref.note or "recording")

    async def _note(self, session_id: int, recording_id: str | None, note: str) -> None:
        async with self.db.transaction() as session:
            row = await session.get(CaseSessionRow, session_id)
            assert row is not None
            if recording_id is not None:
                row.recording_id = recording_id
            row.recording_note = note[:200]

    async def _view(self, session_id: int) -> SessionView:
        async with self.db.transaction() as session:
            row = await session.get(CaseSessionRow, session_id)
            assert row is not None
            return await session_view(session, row)
