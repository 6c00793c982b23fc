"""Benchmark: a county-year of dispute cases; time the monthly ledger and the yearly KPI.

    .venv/bin/python -m bench.bench_cases [--cases 100000] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Generates one county (18 townships × 12 villages plus the county centre) with ``--cases``
cases received in 2024 and histories that follow the 3221 rule most of the time (about 2.5
sessions per case), bulk-inserts them on SQLite (a temporary file) and on PostgreSQL (a
fresh database created from ``template0`` next to the given one, dropped afterwards), then
times ``ledger_sql`` (county and one township, one month) and ``kpi_sql`` (county and one
township, the year), prints the median of 5 runs, the query plans, and checks that the SQL
ledger of one township-month equals the pure core's ``compute_ledger`` on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import make_url

from cases import Month, compute_ledger
from cases._models import CaseEscalationRow, CaseRow, CaseSessionRow
from cases._report_sql import in_subtree, kpi_sql, ledger_sql
from cases._store import load_snapshots
from core import Database, Room, Unit, migrate

COUNTY = "431226000000"
TOWNSHIPS = [f"431226{100 + t:03d}000" for t in range(18)]
YEAR = 2024
TYPES = [
    "neighbourhood", "family", "land_forest", "labour", "contract_debt",
    "construction", "traffic", "medical", "property", "other",
]  # fmt: skip
CHANNELS = ["window", "phone", "grid_worker", "transfer", "petition_office"]


def _units() -> list[dict[str, Any]]:
    rows = [{"code": COUNTY, "name": "县综治中心", "level": "county", "parent_code": None}]
    for t in TOWNSHIPS:
        rows.append(
            {"code": t, "name": f"乡镇{t[6:9]}", "level": "township", "parent_code": COUNTY}
        )
        for v in range(12):
            rows.append(
                {
                    "code": t[:9] + f"{201 + v:03d}",
                    "name": "村",
                    "level": "village",
                    "parent_code": t,
                }
            )
    return [{**r, "address": "", "phone": ""} for r in rows]


def generate(count: int, seed: int = 2024) -> tuple[list[dict[str, Any]], ...]:
    """Cases, sessions and escalations of one county-year (ids assigned here)."""
    rng = random.Random(seed)
    villages = [u["code"] for u in _units() if u["level"] == "village"]
    start = datetime(YEAR, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    cases, sessions, escalations = [], [], []
    sid = eid = 0
    for cid in range(1, count + 1):
        roll = rng.random()
        unit = (
            rng.choice(villages) if roll < 0.7 else rng.choice(TOWNSHIPS) if roll < 0.95 else COUNTY
        )
        level = "village" if roll < 0.7 else "township" if roll < 0.95 else "county"
        at = start + timedelta(seconds=rng.randrange(365 * 86400))
        received = at
        current, leader_at = unit, None
        resolved = False
        while True:
            threshold = {"village": 3, "township": 2, "county": 2}[level]
            fails = 0
            for _ in range(threshold):
                at += timedelta(hours=rng.randint(6, 120))
                resolved = rng.random() < 0.42
                sid += 1
                sessions.append(
                    {
                        "id": sid, "case_id": cid, "unit_code": current, "level": level,
                        "room_id": 1, "state": "done", "started_at": at, "ended_at": at,
                        "mediator_kind": "professional" if level == "county" else "peoples_mediation",
                        "mediators": "[]", "attendees": "[]", "notes": "", "recording_note": "",
                        "outcome": "resolved_written" if resolved else "failed",
                        "created_by": "bench",
                    }
                )  # fmt: skip
                if resolved:
                    break
                fails += 1
            if resolved or fails < threshold:
                break
            at += timedelta(hours=rng.randint(1, 200))  # sometimes past the 7-day grace
            if level == "county":
                leader_at = at
                break
            to_level = "township" if level == "village" else "county"
            to_unit = current[:9] + "000" if to_level == "township" else COUNTY
            eid += 1
            escalations.append(
                {
                    "id": eid, "case_id": cid, "at": at, "from_level": level, "to_level": to_level,
                    "from_unit": current, "to_unit": to_unit, "by": "bench", "reason": "",
                }
            )  # fmt: skip
            level, current = to_level, to_unit
        closed = at + timedelta(hours=2) if resolved or rng.random() < 0.5 else None
        petitioned = at + timedelta(days=1) if rng.random() < 0.05 else None
        cases.append(
            {
                "id": cid, "number": f"{unit}-{YEAR}-{cid:06d}", "receiving_unit": unit,
                "current_unit": current, "level": level,
                "status": "closed" if closed else "in_mediation",
                "dispute_type": rng.choice(TYPES), "channel": rng.choice(CHANNELS),
                "summary": "bench", "townships": "", "received_at": received, "created_by": "bench",
                "leader_name": "县领导" if leader_at else None, "leader_at": leader_at,
                "leader_by": "bench" if leader_at else None, "closed_at": closed,
                "closure_resolved": resolved if closed else None, "petitioned_at": petitioned,
                "petition_ref": "bench" if petitioned else None,
            }
        )  # fmt: skip
    return cases, sessions, escalations


async def load(db: Database, data: tuple[list[dict[str, Any]], ...]) -> float:
    started = time.perf_counter()
    cases, sessions, escalations = data
    async with db.transaction() as session:
        await session.execute(insert(Unit), _units())
        await session.execute(insert(Room), [{"id": 1, "unit_code": COUNTY, "kind": "mediation",
                                              "name": "调解室"}])  # fmt: skip
    for model, rows in ((CaseRow, cases), (CaseSessionRow, sessions),
                        (CaseEscalationRow, escalations)):  # fmt: skip
        for i in range(0, len(rows), 20_000):
            async with db.transaction() as session:
                await session.execute(insert(model), rows[i : i + 20_000])
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    return time.perf_counter() - started


async def timed(label: str, call: Callable[[], Awaitable[object]]) -> float:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        await call()
        runs.append(time.perf_counter() - t0)
    median = statistics.median(runs)
    print(f"  {label:34} median {median * 1000:8.1f} ms  (min {min(runs) * 1000:.1f})")
    return median


async def plans(db: Database, call: Callable[[], Awaitable[object]]) -> None:
    captured: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", keep)
    try:
        await call()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", keep)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    async with db.engine.connect() as conn:
        for statement, params in captured:
            first = " ".join(statement.split())[:90]
            print(f"    -- {first}…")
            result = await conn.exec_driver_sql(prefix + statement, params)
            for row in result:
                print("      " + str(row[-1])[:160])


async def run(url: str, data: tuple[list[dict[str, Any]], ...], name: str) -> dict[str, float]:
    db = Database(url)
    try:
        await migrate(db)
        print(f"{name}: loaded in {await load(db, data):.1f} s")
        month, township = Month(YEAR, 6), TOWNSHIPS[3]
        children = list(TOWNSHIPS)
        villages = [township[:9] + f"{201 + v:03d}" for v in range(12)]
        now = datetime(YEAR, 12, 31, 12, tzinfo=UTC)

        async def ledger(unit: str, kids: list[str]) -> object:
            async with db.transaction() as s:
                return await ledger_sql(s, unit, month, child_units=kids)

        async def kpi(unit: str) -> object:
            async with db.transaction() as s:
                return await kpi_sql(s, unit, YEAR, now=now)

        results = {
            "ledger county month": await timed(
                "ledger, county, 2024-06", lambda: ledger(COUNTY, children)
            ),
            "ledger township month": await timed(
                "ledger, township, 2024-06", lambda: ledger(township, villages)
            ),
            "kpi county year": await timed("KPI, county, 2024", lambda: kpi(COUNTY)),
            "kpi township year": await timed("KPI, township, 2024", lambda: kpi(township)),
        }
        print("  query plans (county ledger):")
        await plans(db, lambda: ledger(COUNTY, children))
        print("  query plans (county KPI):")
        await plans(db, lambda: kpi(COUNTY))
        async with db.transaction() as s:
            snaps = await load_snapshots(s, in_subtree(CaseRow.receiving_unit, township))
            by_core = compute_ledger(township, month, snaps, child_units=villages)
            by_sql = await ledger_sql(s, township, month, child_units=villages)
        print(f"  core and SQL ledgers equal on {township}: {by_core == by_sql}")
        assert by_core == by_sql
        return results
    finally:
        await db.close()


async def pg_admin(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = generate(args.cases)
    cases, sessions, escalations = data
    print(
        f"generated {len(cases)} cases, {len(sessions)} sessions, {len(escalations)} escalations "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", data, "SQLite")
    if not args.no_pg:
        name = f"zz_bench_{uuid.uuid4().hex[:10]}"
        await pg_admin(args.pg, f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
            await run(url, data, "PostgreSQL")
        finally:
            await pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
