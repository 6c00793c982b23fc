"""JSON API of dispute cases, ledgers and the petition KPI (issue 6).

Handlers only parse, call the services of :mod:`cases` and serialise; every rule and
every scope check lives in the services.  Lists carry masked party data only; the full
values come from the audited ``reveal`` call.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from fractions import Fraction
from typing import Any

from aiohttp import web
from sqlalchemy import select

from cases import (
    CaseDetail,
    CaseQuery,
    CaseService,
    IntakeInput,
    LedgerService,
    LedgerSnapshot,
    Month,
    MonthlyLedger,
    PetitionKpi,
    SessionInput,
    ledger_csv,
    ledger_to_json,
    ledger_xlsx,
    parse_day,
)
from core import InvalidInputError, Unit

from ._api import Api
from ._context import DB, current_principal
from ._i18n import language_of
from ._schema import MAX_INT, path_id, query_int, read_json

__all__ = ["CASES", "LEDGERS", "api", "detail_json", "jsonable", "kpi_json", "parse_month"]

CASES = web.AppKey("cases", CaseService)
LEDGERS = web.AppKey("ledgers", LedgerService)

api = Api("cases")


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, instants, fractions and mappings as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def detail_json(detail: CaseDetail) -> dict[str, Any]:
    """The case: its summary fields at the top (``id``, ``level`` …) and the rest below."""
    a = detail.assessment
    body = jsonable(detail)
    summary = body.pop("summary")
    body["assessment"] = {
        "level": a.level.value,
        "stage": a.stage.value,
        "unresolved": a.unresolved,
        "threshold": a.threshold,
        "cross_township": a.cross_township,
        "leader_in_charge": a.leader_in_charge,
        "closed": a.closed,
        "followed": a.followed,
    }
    body["due"] = jsonable(a.due) if a.due else None
    body["flags"] = jsonable(a.flags)
    return {**summary, **body}


def kpi_json(kpi: PetitionKpi) -> dict[str, Any]:
    return {
        "unit": kpi.unit,
        "year": kpi.year,
        "cases": kpi.cases,
        "petitioned": kpi.petitioned,
        "share": None if kpi.share is None else float(kpi.share),
        "limit": float(kpi.limit),
        "within_limit": kpi.within_limit,
        "followed_3221": kpi.followed_3221,
        "not_followed": kpi.not_followed,
        "penalised": kpi.penalised,
        "petitioned_cases": [
            {
                "case_id": p.case_id,
                "number": p.number,
                "petitioned_on": p.petitioned_on.isoformat(),
                "followed": p.followed,
                "flags": [f.kind.value for f in p.flags],
            }
            for p in kpi.petitioned_cases
        ],
    }


def snapshot_json(snap: LedgerSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "unit": snap.unit,
        "month": snap.month,
        "version": snap.version,
        "submitted_at": snap.submitted_at.isoformat(),
        "submitted_by": snap.submitted_by,
        "reason": snap.reason,
        "sha256": snap.sha256,
        "ledger": ledger_to_json(snap.ledger),
    }


def parse_month(text: str | None) -> Month:
    try:
        return Month.parse(text or "")
    except ValueError as exc:
        raise InvalidInputError(str(exc), code="invalid_month") from None


def _id(request: web.Request, name: str = "id") -> int:
    return path_id(request, name)


def _unit(request: web.Request) -> str:
    return request.query.get("unit") or current_principal(request).unit_code


def _int(request: web.Request, name: str, default: int) -> int:
    value = query_int(request, name, default)
    assert value is not None
    return value


def query_of(params: Mapping[str, str]) -> CaseQuery:
    """The search of ``GET /api/cases`` and of the case list page."""

    def day(name: str) -> date | None:
        return parse_day(params[name], name) if params.get(name) else None

    try:
        limit, offset = int(params.get("limit", 50)), int(params.get("offset", 0))
    except ValueError:
        raise InvalidInputError("limit and offset must be integers", code="invalid_input") from None
    if not (0 <= limit <= MAX_INT and 0 <= offset <= MAX_INT):
        raise InvalidInputError(
            f"limit and offset must be between 0 and {MAX_INT}", code="invalid_input"
        )
    return CaseQuery(
        text=params.get("q", ""),
        status=params.get("status") or None,
        dispute_type=params.get("type") or None,
        channel=params.get("channel") or None,
        level=params.get("level") or None,
        unit=params.get("unit") or None,
        received_from=day("from"),
        received_to=day("to"),
        limit=limit,
        offset=offset,
    )


@api.post("/api/cases", "Intake (统一受理): register a dispute case", body=IntakeInput, status=201)
async def create_case(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, IntakeInput)
    detail = await request.app[CASES].intake(current_principal(request), body)
    return web.json_response(detail_json(detail), status=201)


@api.get(
    "/api/cases",
    "Cases in your scope (search and filters); parties masked",
    query=("q", "status", "type", "channel", "level", "unit", "from", "to", "limit", "offset"),
)
async def list_cases(request: web.Request) -> web.StreamResponse:
    page = await request.app[CASES].search(current_principal(request), query_of(request.query))
    return web.json_response({"total": page.total, "cases": jsonable(page.cases)})


@api.get("/api/cases/{id:\\d+}", "One case: level, status, sessions, the escalation due, flags")
async def get_case(request: web.Request) -> web.StreamResponse:
    detail = await request.app[CASES].get(current_principal(request), _id(request))
    return web.json_response(detail_json(detail))


@api.post(
    "/api/cases/{id:\\d+}/sessions",
    "Schedule, start (recording the room) or record a mediation session",
    body=SessionInput,
    status=201,
)
async def add_session(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, SessionInput)
    view = await request.app[CASES].sessions.add(current_principal(request), _id(request), body)
    return web.json_response(jsonable(view), status=201)


@api.post("/api/cases/{id:\\d+}/sessions/{sid:\\d+}/start", "Start a scheduled session now")
async def start_session(request: web.Request) -> web.StreamResponse:
    view = await request.app[CASES].sessions.start(
        current_principal(request), _id(request), _id(request, "sid")
    )
    return web.json_response(jsonable(view))


@dataclass(frozen=True)
class FinishBody:
    outcome: str = field(metadata={"max_length": 32})
    notes: str = field(default="", metadata={"max_length": 4000})


@api.post(
    "/api/cases/{id:\\d+}/sessions/{sid:\\d+}/finish",
    "Finish a running session with its outcome; the recording is attached",
    body=FinishBody,
)
async def finish_session(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, FinishBody)
    view = await request.app[CASES].sessions.finish(
        current_principal(request),
        _id(request),
        _id(request, "sid"),
        outcome=body.outcome,
        notes=body.notes,
    )
    return web.json_response(jsonable(view))


@dataclass(frozen=True)
class EscalateBody:
    to_level: str = field(metadata={"max_length": 16, "description": "township or county"})
    reason: str = field(default="", metadata={"max_length": 2000})


@api.post(
    "/api/cases/{id:\\d+}/escalate",
    "Report the case up (上报); refused with the reason when 3221 does not allow it",
    body=EscalateBody,
)
async def escalate(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, EscalateBody)
    detail = await request.app[CASES].escalate(
        current_principal(request), _id(request), body.to_level, body.reason
    )
    return web.json_response(detail_json(detail))


@dataclass(frozen=True)
class LeaderBody:
    leader: str = field(metadata={"max_length": 100})


@api.post(
    "/api/cases/{id:\\d+}/leader", "A county leader takes charge (县领导包案)", body=LeaderBody
)
async def take_charge(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, LeaderBody)
    detail = await request.app[CASES].take_charge(
        current_principal(request), _id(request), body.leader
    )
    return web.json_response(detail_json(detail))


@dataclass(frozen=True)
class CloseBody:
    resolved: bool
    note: str = field(metadata={"max_length": 4000})


@api.post("/api/cases/{id:\\d+}/close", "Close the case (办结销号) with its result", body=CloseBody)
async def close_case(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, CloseBody)
    detail = await request.app[CASES].close(
        current_principal(request), _id(request), resolved=body.resolved, note=body.note
    )
    return web.json_response(detail_json(detail))


@dataclass(frozen=True)
class ReopenBody:
    reason: str = field(metadata={"max_length": 2000})


@api.post("/api/cases/{id:\\d+}/reopen", "Reopen a closed case with a reason", body=ReopenBody)
async def reopen_case(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, ReopenBody)
    detail = await request.app[CASES].reopen(current_principal(request), _id(request), body.reason)
    return web.json_response(detail_json(detail))


@dataclass(frozen=True)
class PetitionBody:
    filed_on: str = field(metadata={"max_length": 10, "description": "YYYY-MM-DD"})
    reference: str = field(metadata={"max_length": 100})


@api.post(
    "/api/cases/{id:\\d+}/petition", "Link the initial petition (初信初访)", body=PetitionBody
)
async def link_petition(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, PetitionBody)
    detail = await request.app[CASES].link_petition(
        current_principal(request), _id(request), filed_on=body.filed_on, reference=body.reference
    )
    return web.json_response(detail_json(detail))


@dataclass(frozen=True)
class AssignBody:
    mediator: str = field(metadata={"max_length": 64})


@api.post("/api/cases/{id:\\d+}/assign", "Assign the case to a mediator", body=AssignBody)
async def assign(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, AssignBody)
    detail = await request.app[CASES].assign(
        current_principal(request), _id(request), body.mediator
    )
    return web.json_response(detail_json(detail))


@api.post(
    "/api/cases/{id:\\d+}/parties/{pid:\\d+}/reveal",
    "Full personal data of one party (case.reveal_pii; audited)",
)
async def reveal(request: web.Request) -> web.StreamResponse:
    party = await request.app[CASES].reveal(
        current_principal(request), _id(request), _id(request, "pid")
    )
    return web.json_response(jsonable(party), headers={"Cache-Control": "no-store"})


async def ledger_response(request: web.Request, ledger: MonthlyLedger) -> web.StreamResponse:
    fmt = request.query.get("format", "json")
    name = f"ledger-{ledger.unit}-{ledger.month}"
    if fmt == "json":
        return web.json_response(ledger_to_json(ledger))
    # Units by name (with the code) in the exported tables, in the reader's language.
    async with request.app[DB].read() as session:
        names = {u.code: u.name for u in await session.scalars(select(Unit))}
    lang = "en" if language_of(request) == "en" else "zh"
    if fmt == "csv":
        return web.Response(
            body=ledger_csv(ledger, lang=lang, unit_names=names).encode("utf-8-sig"),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        data = await asyncio.to_thread(ledger_xlsx, ledger, lang=lang, unit_names=names)
        return web.Response(
            body=data,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    raise InvalidInputError("format must be json, csv or xlsx", code="invalid_input")


@api.get(
    "/api/ledger",
    "Monthly ledger (台账) of a unit, live; format=json|csv|xlsx",
    query=("unit", "month", "format", "version"),
)
async def get_ledger(request: web.Request) -> web.StreamResponse:
    principal, unit = current_principal(request), _unit(request)
    month = parse_month(request.query.get("month"))
    ledgers = request.app[LEDGERS]
    if "version" in request.query:
        version = _int(request, "version", 0)
        frozen = [
            s for s in await ledgers.snapshots(principal, unit, month) if s.version == version
        ]
        if not frozen:
            raise web.HTTPNotFound(reason=f"{unit} {month} has no submitted version {version}")
        return await ledger_response(request, frozen[0].ledger)
    return await ledger_response(request, await ledgers.ledger(principal, unit, month))


@dataclass(frozen=True)
class SubmitBody:
    unit: str = field(metadata={"max_length": 12})
    month: str = field(metadata={"max_length": 7, "description": "YYYY-MM"})
    reason: str = field(default="", metadata={"max_length": 2000})


@api.post(
    "/api/ledger/submit",
    "Submit (freeze) a monthly ledger; a correction is a new version with a reason",
    body=SubmitBody,
    status=201,
)
async def submit_ledger(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, SubmitBody)
    snap = await request.app[LEDGERS].submit(
        current_principal(request), body.unit, parse_month(body.month), body.reason
    )
    return web.json_response(snapshot_json(snap), status=201)


@api.get("/api/ledger/snapshots", "Submitted versions of a month", query=("unit", "month"))
async def list_snapshots(request: web.Request) -> web.StreamResponse:
    snaps = await request.app[LEDGERS].snapshots(
        current_principal(request), _unit(request), parse_month(request.query.get("month"))
    )
    return web.json_response({"versions": [snapshot_json(s) for s in snaps]})


@api.get(
    "/api/ledger/board",
    "Due/overdue state of the monthly reports under a unit (default yours)",
    query=("month", "unit"),
)
async def report_board(request: web.Request) -> web.StreamResponse:
    rows = await request.app[LEDGERS].board(
        current_principal(request),
        parse_month(request.query.get("month")),
        request.query.get("unit") or None,
    )
    return web.json_response({"reports": jsonable(rows)})


@api.get("/api/kpi", "Yearly initial-petition KPI of a unit against 10%", query=("unit", "year"))
async def get_kpi(request: web.Request) -> web.StreamResponse:
    year = _int(request, "year", request.app[LEDGERS].today().year)
    kpi = await request.app[LEDGERS].kpi(current_principal(request), _unit(request), year)
    return web.json_response(kpi_json(kpi))
