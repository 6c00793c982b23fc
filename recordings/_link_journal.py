"""The case-link journal: every attach and detach of a recording, in the recording's directory.

Case links are evidence facts as much as the segments are, and the database alone does not
survive its own loss: ``case-links.jsonl`` is an append-only journal next to the manifest,
one JSON object a line, each signed with the gateway's Ed25519 key and chained to the line
before it by SHA-256, so a removed, reordered or edited line breaks the chain.  Reindex
replays it and restores the links that are still attached to cases that still exist.

A link is identified by its case and the instant it was attached (``attached_at``, which
the database row carries too): a detach names the attach it undoes.  The journal is written
inside the database transaction, before it commits: a failed write rolls the change back,
and only a failed commit after a written line can leave the journal one step ahead (an
attach then restores on reindex, the safe direction for evidence).

File I/O here is blocking: the service calls it through :class:`LinkJournal`'s thread hop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ._manifest import canonical
from ._models import RecordingCaseRow
from ._signing import SigningKey
from ._store import fsync_dir

__all__ = [
    "JOURNAL_NAME",
    "CaseLink",
    "JournalReplay",
    "LinkJournal",
    "append",
    "journal_link",
    "read",
    "replay",
]

JOURNAL_NAME = "case-links.jsonl"
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class CaseLink:
    """One attach as the journal tells it."""

    recording_id: str
    case_id: int
    case_number: str
    start: datetime | None
    end: datetime | None
    note: str
    attached_by: str
    attached_at: datetime

    @property
    def key(self) -> tuple[int, str]:
        return (self.case_id, self.attached_at.isoformat())


@dataclass
class JournalReplay:
    attached: list[CaseLink] = field(default_factory=list)  # still attached, in order
    entries: int = 0
    problem: str | None = None  # the first line that does not verify; nothing after it counts


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def entry(op: str, link: CaseLink, *, by: str, at: datetime, note: str = "") -> dict[str, Any]:
    """The body of one journal line (without the chain and the signature)."""
    if op not in ("attach", "detach"):
        raise ValueError(f"journal operation must be attach or detach, not {op!r}")
    return {
        "op": op,
        "recording_id": link.recording_id,
        "case_id": link.case_id,
        "case_number": link.case_number,
        "start": _iso(link.start),
        "end": _iso(link.end),
        "link_note": link.note,
        "attached_by": link.attached_by,
        "attached_at": link.attached_at.isoformat(),
        "by": by,
        "at": at.isoformat(),
        "note": note,
    }


def _line(body: dict[str, Any], seq: int, prev: str, key: SigningKey) -> bytes:
    signed = {**body, "seq": seq, "prev": prev, "key_id": key.key_id}
    signature = base64.b64encode(key.private.sign(canonical(signed))).decode()
    return canonical({**signed, "sig": signature}) + b"\n"


def replay(data: bytes, public: Ed25519PublicKey) -> JournalReplay:
    """Verify the journal's chain and signatures and tell which links are attached.  Pure."""
    out = JournalReplay()
    prev = GENESIS
    attached: dict[tuple[int, str], CaseLink] = {}
    lines = data.split(b"\n")
    complete, torn = lines[:-1], lines[-1]
    for number, raw in enumerate(complete, start=1):
        try:
            document = json.loads(raw)
            signature = base64.b64decode(document.pop("sig"), validate=True)
            public.verify(signature, canonical(document))
            if document["prev"] != prev or document["seq"] != number:
                raise ValueError("the chain is broken (a line was removed, moved or inserted)")
            link = CaseLink(
                str(document["recording_id"]),
                int(document["case_id"]),
                str(document["case_number"]),
                _time(document["start"]),
                _time(document["end"]),
                str(document["link_note"]),
                str(document["attached_by"]),
                datetime.fromisoformat(str(document["attached_at"])),
            )
        except InvalidSignature:
            out.problem = f"line {number}: the signature does not verify (altered)"
            break
        except (ValueError, KeyError, TypeError) as exc:
            out.problem = f"line {number}: {exc}"
            break
        prev = hashlib.sha256(raw).hexdigest()
        out.entries = number
        if document["op"] == "attach":
            attached[link.key] = link
        else:
            attached.pop(link.key, None)
    if out.problem is None and torn:
        out.problem = f"line {len(complete) + 1} is incomplete (written during a crash): ignored"
    out.attached = list(attached.values())
    return out


def append(directory: Path, body: dict[str, Any], key: SigningKey) -> None:
    """Append one signed, chained line and sync it (blocking)."""
    path = directory / JOURNAL_NAME
    data = path.read_bytes() if path.exists() else b""
    if data and not data.endswith(b"\n"):
        # A line torn by a crash was never acknowledged: cut it so the chain continues.
        data = data[: data.rfind(b"\n") + 1]
        with path.open("r+b") as fh:
            fh.truncate(len(data))
    lines = data.split(b"\n")[:-1]
    prev = hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS
    line = _line(body, len(lines) + 1, prev, key)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(directory)


def read(directory: Path, public: Ed25519PublicKey) -> JournalReplay:
    """Replay a recording's journal (blocking); an absent journal has no links."""
    path = directory / JOURNAL_NAME
    return replay(path.read_bytes(), public) if path.exists() else JournalReplay()


class LinkJournal:
    """Serialises appends (one chain per file) and moves them off the event loop."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def write(
        self,
        directory: Path,
        key: SigningKey,
        op: str,
        link: CaseLink,
        *,
        by: str,
        at: datetime,
        note: str = "",
    ) -> None:
        body = entry(op, link, by=by, at=at, note=note)
        async with self._lock:
            await asyncio.to_thread(append, directory, body, key)


def journal_link(row: RecordingCaseRow, case_number: str) -> CaseLink:
    """The journal's view of a database link row."""
    return CaseLink(
        row.recording_id,
        row.case_id,
        case_number,
        row.range_start,
        row.range_end,
        row.note,
        row.attached_by,
        row.attached_at,
    )
