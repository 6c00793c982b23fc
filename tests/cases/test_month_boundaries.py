"""Ledger months and KPI years are counted in Beijing time, not in UTC.

A case received at 23:30 UTC is received at 07:30 the next day in Beijing: on the last
day of a month (or of the statistical period, which ends on the 25th) it belongs to the
next month's ledger, and on 31 December to the next year's KPI.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cases import LedgerConfig, LedgerService, Month
from core import Database, Role
from tests.cases.service_helpers import HPX, intake_input, make_services, who


async def test_a_case_at_2330_utc_on_the_last_day_of_a_month_counts_in_the_next(
    db: Database,
) -> None:
    s = make_services(db, start=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    await s.cases.intake(who(HPX), intake_input(HPX))  # 2026-12-01 07:30 in Beijing
    s.clock.now = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
    calendar = LedgerService(db, config=LedgerConfig(cutoff_day=None), clock=s.clock)
    reader = who(HPX, Role.AUDITOR)
    assert (await calendar.ledger(reader, HPX, Month(2026, 11))).received == 0
    assert (await calendar.ledger(reader, HPX, Month(2026, 12))).received == 1
    # The default statistical month ends on the 25th: 30 November is December's either way.
    assert (await s.ledgers.ledger(reader, HPX, Month(2026, 12))).received == 1


async def test_the_statistical_month_ends_at_midnight_beijing_on_the_25th(db: Database) -> None:
    s = make_services(db, start=datetime(2026, 12, 25, 15, 59, tzinfo=UTC))  # 23:59 on the 25th
    await s.cases.intake(who(HPX), intake_input(HPX))
    s.clock.now = datetime(2026, 12, 25, 23, 30, tzinfo=UTC)  # 07:30 on the 26th
    await s.cases.intake(who(HPX), intake_input(HPX))
    s.clock.now = datetime(2027, 1, 27, 2, 0, tzinfo=UTC)
    reader = who(HPX, Role.AUDITOR)
    assert (await s.ledgers.ledger(reader, HPX, Month(2026, 12))).received == 1
    assert (await s.ledgers.ledger(reader, HPX, Month(2027, 1))).received == 1


async def test_a_case_at_2330_utc_on_31_december_is_next_years_kpi(db: Database) -> None:
    s = make_services(db, start=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    await s.cases.intake(who(HPX), intake_input(HPX))  # 2027-01-01 07:30 in Beijing
    s.clock.now = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)
    reader = who(HPX, Role.AUDITOR)
    assert (await s.ledgers.kpi(reader, HPX, 2026)).cases == 0
    assert (await s.ledgers.kpi(reader, HPX, 2027)).cases == 1
