"""The case-link journal: signed, chained, append-only; tampering and torn lines are named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from recordings import SigningKey
from recordings._link_journal import JOURNAL_NAME, CaseLink, append, entry, read

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def link(case_id: int, at: datetime = AT) -> CaseLink:
    return CaseLink("rec-x", case_id, f"和平溪2026-00{case_id}", None, None, "调解", "u:a", at)


def test_journal_replays_and_names_tampering(tmp_path: Path, key: SigningKey) -> None:
    append(tmp_path, entry("attach", link(1), by="u:a", at=AT), key)
    append(tmp_path, entry("attach", link(2), by="u:a", at=AT), key)
    append(tmp_path, entry("detach", link(1), by="u:b", at=AT, note="误关联"), key)
    replayed = read(tmp_path, key.public)
    assert replayed.problem is None and replayed.entries == 3
    assert [x.case_id for x in replayed.attached] == [2]
    path = tmp_path / JOURNAL_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    # removing a line from the middle breaks the chain
    path.write_bytes(lines[0] + lines[2])
    assert "chain is broken" in (read(tmp_path, key.public).problem or "")
    path.write_bytes(lines[0] + lines[1].replace("调解".encode(), "伪造".encode()) + lines[2])
    problem = read(tmp_path, key.public).problem or ""
    assert problem.startswith("line 2") and "signature" in problem
    # a line torn by a crash is ignored, and the next append continues the chain
    path.write_bytes(lines[0] + lines[1][:20])
    assert "incomplete" in (read(tmp_path, key.public).problem or "")
    append(tmp_path, entry("attach", link(3), by="u:a", at=AT), key)
    replayed = read(tmp_path, key.public)
    assert replayed.problem is None and [x.case_id for x in replayed.attached] == [1, 3]
    other = SigningKey.load_or_create(tmp_path / "other")
    assert "signature" in (read(tmp_path, other.public).problem or "")
