"""Database engine, sessions and the declarative base shared by every package's models."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "Database", "UTCDateTime", "utcnow"]

log = logging.getLogger("gateway.db")

_WORKER_GRACE = 2.0
_WORKER_JOIN_TIMEOUT = 5.0

# Stable constraint names so Alembic revisions are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Database:
    """Owns the async engine and the session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            # One file, several connections: wait for the write lock instead of failing.
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # aiosqlite runs each connection on a worker thread of its own.  A query cancelled
        # at shutdown (a background task's, or SQLAlchemy's shielded close of the
        # connection it ran on) keeps that thread busy after its task is gone; when the
        # thread finishes after the event loop has closed it cannot hand back the result
        # and dies with "Event loop is closed".  close() therefore ends every worker while
        # the loop still runs: the connections are tracked from the moment they open.
        self._sqlite_connections: weakref.WeakSet[Any] = weakref.WeakSet()
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "connect", self._track_sqlite)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads take no write lock on SQLite (BEGIN DEFERRED under WAL: readers never wait
        # for the writer) and are READ ONLY on PostgreSQL.
        options = {"zz_read_only": True}
        if not url.startswith("sqlite"):
            options["postgresql_readonly"] = True
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**options), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: for requests and queries that change nothing.

        It does not queue behind writers (the audit log, the recording index) on SQLite,
        and writing through it fails on PostgreSQL.
        """
        async with self._read_sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        """Close every connection; on SQLite, return once no worker thread is left.

        Safe to call twice.
        """
        if self.is_sqlite:
            # A statement still running belongs to work cancelled at shutdown (its task
            # cannot finish until the statement does): interrupt it first.
            for connection in list(self._sqlite_connections):
                raw = connection._connection
                if raw is not None and connection._thread.is_alive():
                    raw.interrupt()
        await self.engine.dispose()
        if self.is_sqlite:
            await self._end_sqlite_workers()

    def _track_sqlite(self, dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", None)  # the aiosqlite.Connection
        if driver is not None and hasattr(driver, "_thread"):
            self._sqlite_connections.add(driver)

    async def _end_sqlite_workers(self) -> None:
        left = [c for c in list(self._sqlite_connections) if c._thread.is_alive()]
        if not left:
            return
        # Connections still open here belong to cancelled work.  Their statements were
        # interrupted above; SQLAlchemy's shielded close of each is queued behind them and
        # ends the thread, as long as the loop runs: give it that first.
        if await _threads_end(left, _WORKER_GRACE):
            return
        # Abandoned connections (nobody will close them): stop their threads ourselves.
        log.info("stopping SQLite connections left open", extra={"count": len(left)})
        for connection in left:
            raw = connection._connection
            if raw is not None:
                raw.interrupt()
            if connection._running and connection._thread.is_alive():
                connection.stop()
        if not await _threads_end(left, _WORKER_JOIN_TIMEOUT):
            log.warning("SQLite worker threads did not end", extra={"count": len(left)})


async def _threads_end(connections: list[Any], within: float) -> bool:
    """Let the loop run (the workers hand their last results to it) until the threads end."""
    deadline = asyncio.get_running_loop().time() + within
    while any(c._thread.is_alive() for c in connections):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when a transaction begins (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two transactions that read and then
    # write (the audit chain head, case numbers) queue behind each other on busy_timeout
    # instead of one failing with SQLITE_BUSY when it upgrades its lock.  Read-only
    # transactions (Database.read) begin deferred: under WAL they never wait for a writer.
    if connection.get_execution_options().get("zz_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
