"""Closing the database ends every SQLite worker thread while the event loop still runs,
even when work was cancelled in the middle of a query (as at application shutdown)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from core import Database

LONG_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) "
    "SELECT count(*) FROM c"
)


def _sqlite_workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


@pytest.mark.parametrize("where", ["read", "transaction"])
def test_query_cancelled_at_shutdown_leaves_no_worker(tmp_path: Path, where: str) -> None:
    before = _sqlite_workers()
    errors: list[BaseException | None] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")

        async def long_work() -> None:
            async with getattr(db, where)() as session:
                await session.execute(text(LONG_QUERY))

        async def main() -> float:
            task = asyncio.create_task(long_work())
            await asyncio.sleep(0.5)  # the statement runs on its worker thread now
            task.cancel()
            # SQLAlchemy closes the cancelled session's connection shielded, so the task
            # ends only once the statement does: what an app's shutdown meets.
            await asyncio.sleep(0.2)
            assert not task.done()
            began = time.monotonic()
            await db.close()
            await db.close()  # idempotent
            took = time.monotonic() - began
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            return took

        loop = asyncio.new_event_loop()
        try:
            took = loop.run_until_complete(main())
        finally:
            loop.close()
        assert took < 5, took  # interrupted, not waited for
        # Nothing of this database runs on once its loop has closed.
        assert _sqlite_workers() - before == set()
        time.sleep(0.2)
        assert errors == []
    finally:
        threading.excepthook = hook
