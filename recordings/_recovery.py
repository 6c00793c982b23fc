"""Crash salvage and index rebuild (blocking parts in a thread, the index in one transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from core import Database

from ._foreign_tables import case_id_by_number, case_row
from ._index import ReindexReport, find_recordings, store_index
from ._link_journal import CaseLink
from ._link_journal import read as read_journal
from ._manifest import Manifest
from ._models import RecordingCaseRow
from ._mux import media_duration
from ._signing import SigningKey
from ._store import RecordingFiles

__all__ = ["reindex", "salvage_directory"]


def salvage_directory(directory: Path, key: SigningKey) -> tuple[Manifest, int]:
    """Finish a recording whose writer died: keep whole fragments, close the manifest."""
    files = RecordingFiles.open(directory, key)
    added = files.salvage(media_duration)
    if files.manifest.stopped_at is None:
        segments = files.manifest.segments
        end = segments[-1].end if segments else files.manifest.started_at
        files.finish(
            end,
            "interrupted: the recording process ended without stopping "
            f"(crash or power loss); {len(added)} segment(s) salvaged, noticed "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        )
    return files.manifest, len(added)


def _scan(
    root: Path, key: SigningKey, salvage: bool, spare: Collection[str] = ()
) -> tuple[list[tuple[Manifest, str]], list[CaseLink], ReindexReport]:
    report = ReindexReport()
    found: list[tuple[Manifest, str]] = []
    links: list[CaseLink] = []
    for directory in find_recordings(root):
        try:
            if salvage and directory.name not in spare:
                manifest, count = salvage_directory(directory, key)
                if count:
                    report.salvaged[manifest.recording_id] = count
            else:
                manifest = RecordingFiles.open(directory, key).manifest
        except (OSError, ValueError) as exc:
            report.unreadable[str(directory)] = str(exc)
            continue
        found.append((manifest, str(directory.relative_to(root))))
        report.indexed.append(manifest.recording_id)
        try:
            journal = read_journal(directory, key.public)
        except OSError as exc:
            report.journal_problems[manifest.recording_id] = str(exc)
            continue
        if journal.problem is not None:
            report.journal_problems[manifest.recording_id] = journal.problem
        links += [link for link in journal.attached if link.recording_id == manifest.recording_id]
    return found, links, report


async def restore_links(db: Database, links: list[CaseLink], report: ReindexReport) -> None:
    """Put back journalled links the database lacks, for cases that still exist.

    A case is found by its id when its number still matches, else by its number (a
    database restored from elsewhere may number rows differently); a case that is gone
    leaves the link in the journal only, reported.
    """
    async with db.transaction() as session:
        for link in links:
            facts = await case_row(session, link.case_id)
            case_id = facts.case_id if facts and facts.number == link.case_number else None
            if case_id is None:
                case_id = await case_id_by_number(session, link.case_number)
            if case_id is None:
                report.links_skipped.append(
                    f"{link.recording_id} → case {link.case_number}: the case no longer exists"
                )
                continue
            existing = await session.scalars(
                select(RecordingCaseRow).where(
                    RecordingCaseRow.recording_id == link.recording_id,
                    RecordingCaseRow.case_id == case_id,
                )
            )
            if any(row.attached_at == link.attached_at for row in existing):
                continue
            session.add(
                RecordingCaseRow(
                    recording_id=link.recording_id,
                    case_id=case_id,
                    range_start=link.start,
                    range_end=link.end,
                    note=link.note,
                    attached_by=link.attached_by,
                    attached_at=link.attached_at,
                )
            )
            report.links_restored.append(f"{link.recording_id} → {link.case_number}")


async def reindex(
    db: Database,
    root: Path,
    key: SigningKey,
    *,
    salvage: bool = True,
    spare: Collection[str] = (),
) -> ReindexReport:
    """Rebuild the index from every manifest under ``root``.

    With ``salvage`` (the default, for a gateway that is not running, or at start-up before
    any writer), unfinished recordings are closed first — except those in ``spare``
    (recording ids another live gateway process is writing).  Case links are kept: they live
    in the database and in each recording's signed journal: links the database lacks are
    restored from the journal when their case still exists.
    """
    found, links, report = await asyncio.to_thread(_scan, root, key, salvage, frozenset(spare))
    await store_index(db, found)
    await restore_links(db, links, report)
    return report
