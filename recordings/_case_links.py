"""Recordings attached to cases as evidence: attach and detach, each journalled and audited.

A link lives twice: as a row of the index and as a signed line of the recording's
case-link journal (:mod:`recordings._link_journal`), written inside the transaction
before it commits, so a reindex after losing the database restores it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import Database, Permission, Principal, authorize, authorize_visible, record

from ._access import visible, visible_row
from ._archive import RecordingArchive
from ._errors import InvalidRangeError, RecordingNotFoundError
from ._foreign_tables import case_id_by_number, case_row, case_unit
from ._link_journal import LinkJournal, journal_link
from ._models import RecordingCaseRow, RecordingRow

__all__ = ["CaseLinks"]


class CaseLinks:
    def __init__(self, db: Database, archive: RecordingArchive) -> None:
        self.db = db
        self.archive = archive
        self.journal = LinkJournal()

    async def attach(
        self,
        actor: Principal,
        case_id: int,
        recording_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        note: str = "",
    ) -> int:
        if (start is None) != (end is None) or (start and end and end <= start):
            raise InvalidRangeError("give both range start and end, with end after start")
        async with self.db.transaction() as session:
            row = await visible_row(session, actor, recording_id, Permission.RECORDING_CONTROL)
            unit = await case_unit(session, case_id)
            facts = await case_row(session, case_id)
            missing = RecordingNotFoundError(f"there is no case {case_id}", code="case_not_found")
            if unit is None or facts is None:
                raise missing
            authorize_visible(actor, Permission.CASE_WRITE, unit, missing)
            link = await self._link(
                session, row, case_id, facts.number, actor, note.strip(), start, end
            )
            await record(
                session,
                actor,
                "recording.attach",
                object_type="recording",
                object_id=recording_id,
                unit_code=row.unit_code,
                detail={
                    "case": case_id,
                    "start": start.isoformat() if start else None,
                    "end": end.isoformat() if end else None,
                    "note": note.strip(),
                },
            )
            return link.id

    async def attach_session(
        self, actor: Principal, row: RecordingRow, case_number: str, session_id: int
    ) -> None:
        """Link a mediation session's recording to its case from the first second.

        The open case then holds the recording while it is still being made.  A case
        number that names no case leaves the recording unlinked (nothing to hold it).
        """
        async with self.db.transaction() as session:
            case_id = await case_id_by_number(session, case_number)
            if case_id is None:
                return
            await self._link(
                session, row, case_id, case_number, actor, f"mediation session {session_id}"
            )
            await record(
                session,
                actor,
                "recording.attach",
                object_type="recording",
                object_id=row.id,
                unit_code=row.unit_code,
                detail={"case": case_id, "session": session_id},
            )

    async def detach(self, actor: Principal, case_id: int, link_id: int, note: str = "") -> None:
        async with self.db.transaction() as session:
            link = await session.get(RecordingCaseRow, link_id)
            row = None
            if link is not None and link.case_id == case_id:
                row = await session.get(RecordingRow, link.recording_id)
            if link is None or row is None or not visible(actor, row.unit_code):
                # Not the recording's id: a link outside the scope names nothing of it.
                raise RecordingNotFoundError(
                    f"case {case_id} has no recording link {link_id} in your scope"
                )
            authorize(actor, Permission.RECORDING_CONTROL, row.unit_code)
            unit = await case_unit(session, case_id)
            authorize(actor, Permission.CASE_WRITE, unit or row.unit_code)
            facts = await case_row(session, case_id)
            await self.journal.write(
                self.archive.directory(row),
                self.archive.signing_key(),
                "detach",
                journal_link(link, facts.number if facts else ""),
                by=actor.actor,
                at=datetime.now(UTC),
                note=note.strip(),
            )
            await session.delete(link)
            await record(
                session,
                actor,
                "recording.detach",
                object_type="recording",
                object_id=row.id,
                unit_code=row.unit_code,
                detail={"case": case_id, "note": note.strip()},
            )

    async def _link(
        self,
        session: AsyncSession,
        row: RecordingRow,
        case_id: int,
        case_number: str,
        actor: Principal,
        note: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> RecordingCaseRow:
        """Add a case link, journalled in the recording's directory before it commits."""
        link = RecordingCaseRow(
            recording_id=row.id,
            case_id=case_id,
            range_start=start,
            range_end=end,
            note=note,
            attached_by=actor.actor,
            attached_at=datetime.now(UTC),
        )
        session.add(link)
        await session.flush()
        await self.journal.write(
            self.archive.directory(row),
            self.archive.signing_key(),
            "attach",
            journal_link(link, case_number),
            by=actor.actor,
            at=link.attached_at,
        )
        return link
