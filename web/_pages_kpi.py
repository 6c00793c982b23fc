"""The yearly initial-petition KPI (初信初访占比 ≤ 10%) of a unit and the units under it.

Next to the ledger: per unit the year's cases, those that became initial petitions, the
share against the 10% limit, whether the 3221 mechanism was followed for them, and the
petitioned cases by number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from core import InvalidInputError, Permission, Unit, authorize, contains

from ._api_cases import LEDGERS
from ._context import DB, SETTINGS, current_principal
from ._render import render_page

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/kpi")
async def kpi_page(request: web.Request) -> web.StreamResponse:
    actor = current_principal(request)
    this_year = datetime.now(request.app[SETTINGS].zone).year
    try:
        year = int(request.query.get("year") or this_year)
    except ValueError:
        raise InvalidInputError("year must be a number such as 2026") from None
    unit = request.query.get("unit") or actor.unit_code
    authorize(actor, Permission.LEDGER_READ, unit)
    async with request.app[DB].read() as session:
        own = await session.get(Unit, unit)
        children = list(
            await session.scalars(select(Unit).where(Unit.parent_code == unit).order_by(Unit.code))
        )
        choices = [
            (u.code, u.name)
            for u in await session.scalars(select(Unit).order_by(Unit.code))
            if contains(actor.unit_code, u.code)
        ]
    if own is None:
        raise web.HTTPNotFound()
    ledgers = request.app[LEDGERS]
    rows: list[dict[str, Any]] = []
    for u in [own, *children]:
        kpi = await ledgers.kpi(actor, u.code, year)
        rows.append({"unit": u, "kpi": kpi})
    return render_page(
        request,
        "kpi.html",
        {
            "year": year,
            "years": list(range(this_year, this_year - 5, -1)),
            "unit": unit,
            "rows": rows,
            "choices": choices,
        },
    )
