"""Pages of the case module (zh-CN by default): case list with search, intake form, case
timeline with mediation-session control, and the ledger/KPI dashboard with charts.

Forms post back to these handlers (CSRF token in ``_csrf``); a refused change re-renders
the page with the service's reason and the HTTP status of its kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from cases import (
    CaseStatus,
    Channel,
    DisputeType,
    DisputeTypeCatalogue,
    DisputeTypeInput,
    DisputeTypePatch,
    IntakeInput,
    InvalidCaseInputError,
    MediatorKind,
    Month,
    Outcome,
    PartyFault,
    PartyInput,
    RevealedParty,
    SessionInput,
    Stage,
    label,
)
from core import (
    GatewayError,
    Level,
    Permission,
    Principal,
    Role,
    Room,
    Unit,
    User,
    can,
    scope_prefix,
)

from ._api_cases import CASES, LEDGERS, parse_month, query_of
from ._audit_words import actor_text, duration_text
from ._charts_cases import grouped_bars, hbars
from ._context import DB, SETTINGS, current_principal
from ._form_errors import error_text, party_fault_text, recording_note_text
from ._i18n import language_of
from ._middleware import status_of
from ._render import render_page
from ._schema import path_id

__all__ = ["routes"]

routes = web.RouteTableDef()

_VOCABULARIES: dict[str, Any] = {
    "column": DisputeType,
    "channel": Channel,
    "outcome": Outcome,
    "kind": MediatorKind,
    "status": CaseStatus,
    "stage": Stage,
}


def _labeller(
    request: web.Request, types: DisputeTypeCatalogue
) -> Callable[[str, str | None], str]:
    """``lbl(kind, key)``: "type" is a configured dispute type, "column" a ledger column."""
    lang = "en" if language_of(request) == "en" else "zh"

    def lbl(kind: str, value: str | None) -> str:
        if not value:
            return ""
        if kind == "type":
            return types.label(value, lang)
        try:
            return label(_VOCABULARIES[kind](value), lang)
        except ValueError:
            return value

    return lbl


async def _unit_names(request: web.Request, principal: Principal) -> dict[str, str]:
    async with request.app[DB].transaction() as session:
        units = await session.scalars(select(Unit).order_by(Unit.code))
        prefix = scope_prefix(principal.unit_code)
        return {u.code: u.name for u in units if u.code.startswith(prefix)}


async def _common(request: web.Request) -> dict[str, Any]:
    types = await request.app[CASES].types.catalogue(current_principal(request))
    return {
        "lbl": _labeller(request, types),
        "types": types.types,  # filters: every configured type (old cases keep inactive ones)
        "intake_types": types.active,
        "columns": list(DisputeType),
        "channels": list(Channel),
        "statuses": list(CaseStatus),
        "outcomes": list(Outcome),
        "kinds": list(MediatorKind),
        "levels": list(Level),
    }


def _names(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；"):
        text = text.replace(sep, ",")
    return [n.strip() for n in text.split(",") if n.strip()]


def _picked(form: Mapping[str, Any]) -> list[str]:
    """The mediators ticked among those offered, then any typed, each once."""
    ticked = [v for v in getattr(form, "getall", lambda _k, _d: [])("mediator_pick", []) if v]
    names = [*ticked, *_names(_text(form, "mediators"))]
    return list(dict.fromkeys(n.strip() for n in names if isinstance(n, str) and n.strip()))


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------- list


@routes.get("/cases")
async def case_list(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    error = None
    try:
        query = query_of(request.query)
        page = await request.app[CASES].search(principal, query)
    except GatewayError as exc:
        error, page, query = exc, None, None
    params = {k: v for k, v in request.query.items() if k != "offset"}
    offset = query.offset if query else 0
    limit = query.limit if query else 50
    return render_page(
        request,
        "cases_list.html",
        {
            **await _common(request),
            "page": page,
            "q": request.query,
            "error": error,
            "units": await _unit_names(request, principal),
            "can_write": principal.has(Permission.CASE_WRITE),
            "prev_link": f"?{urlencode({**params, 'offset': max(offset - limit, 0)})}"
            if offset
            else None,
            "next_link": f"?{urlencode({**params, 'offset': offset + limit})}"
            if page and offset + limit < page.total
            else None,
        },
        status=status_of(error) if error else 200,
    )


# -------------------------------------------------------------------- intake


@routes.get("/cases/new")
async def intake_form(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    return await _render_intake(request, principal, {}, None)


async def _render_intake(
    request: web.Request,
    principal: Principal,
    form: Mapping[str, Any],
    error: GatewayError | None,
    fields: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    units = {
        code: name
        for code, name in (await _unit_names(request, principal)).items()
        if can(principal, Permission.CASE_WRITE, code)
    }
    return render_page(
        request,
        "cases_new.html",
        {
            **await _common(request),
            "form": form,
            "error": error,
            "error_text": (
                next(iter(fields.values()))
                if fields
                else error_text(language_of(request), error)
                if error
                else ""
            ),
            "fields": fields or {},
            "units": units,
        },
        status=status_of(error) if error else 200,
    )


@routes.post("/cases/new")
async def intake_submit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    form = await request.post()
    parties = []
    rows = []  # the form row of each party given, to mark the right fields on refusal
    for i in range(3):
        name = _text(form, f"party{i}_name").strip()
        if name:
            rows.append(i)
            parties.append(
                PartyInput(
                    name=name,
                    role=_text(form, f"party{i}_role") or "applicant",
                    id_number=_text(form, f"party{i}_id").strip() or None,
                    phone=_text(form, f"party{i}_phone").strip() or None,
                )
            )
    data = IntakeInput(
        dispute_type=_text(form, "dispute_type"),
        channel=_text(form, "channel"),
        summary=_text(form, "summary"),
        parties=parties,
        unit=_text(form, "unit") or None,
        mediator=_text(form, "mediator").strip() or None,
        townships=_names(_text(form, "townships")),
    )
    try:
        detail = await request.app[CASES].intake(principal, data)
    except GatewayError as exc:
        # Everything typed comes back as typed (the person at the window fixes one field,
        # not the whole form); the page is not stored by the browser (no-store) since it
        # carries the parties' personal data.
        typed = {k: v for k, v in form.items() if isinstance(v, str)}
        fault = getattr(exc, "party", None)
        fields: dict[str, str] = {}
        if isinstance(fault, PartyFault) and fault.index < len(rows):
            short = {"id_number": "id"}.get(fault.field, fault.field)
            fields[f"party{rows[fault.index]}_{short}"] = party_fault_text(
                language_of(request), exc, fault
            )
        elif isinstance(exc, InvalidCaseInputError) and "involved townships" in exc.message:
            fields["townships"] = error_text(language_of(request), exc)
        elif "mediator" in exc.message:
            fields["mediator"] = error_text(language_of(request), exc)
        response = await _render_intake(request, principal, typed, exc, fields)
        response.headers["Cache-Control"] = "no-store"
        return response
    raise web.HTTPSeeOther(f"/cases/{detail.summary.id}")


# ------------------------------------------------------------------ timeline


async def _render_case(
    request: web.Request,
    case_id: int,
    *,
    error: GatewayError | None = None,
    revealed: RevealedParty | None = None,
) -> web.StreamResponse:
    principal = current_principal(request)
    detail = await request.app[CASES].get(principal, case_id)
    current = detail.summary.current_unit
    writable = can(principal, Permission.CASE_WRITE, current)
    rooms: list[Room] = []
    if writable:
        async with request.app[DB].transaction() as session:
            rooms = list(
                await session.scalars(
                    select(Room).where(Room.unit_code == current, Room.kind == "mediation")
                )
            )
    timeline = sorted(
        [("event", e.at, e) for e in detail.events]
        + [("session", s.ended_at or s.started_at or s.scheduled_for, s) for s in detail.sessions],
        key=lambda item: (item[1] is None, item[1]),
    )
    async with request.app[DB].transaction() as session:
        names = {u.code: u.name for u in await session.scalars(select(Unit))}
        users = list(await session.scalars(select(User).order_by(User.username)))
    people = {u.username: u.display_name for u in users}
    # The people offered as mediators: the case's own mediator first, then the mediators of
    # the unit that holds the case (not retyped at every session).
    offered = [people[detail.summary.mediator]] if detail.summary.mediator in people else []
    offered += [
        u.display_name
        for u in users
        if u.unit_code == current
        and u.role == Role.MEDIATOR.value
        and not u.disabled
        and u.display_name not in offered
    ]
    lang = language_of(request)
    return render_page(
        request,
        "cases_detail.html",
        {
            **await _common(request),
            "d": detail,
            "c": detail.summary,
            "a": detail.assessment,
            "timeline": timeline,
            "rooms": rooms,
            "writable": writable,
            "can_reveal": principal.has(Permission.CASE_REVEAL_PII),
            "revealed": revealed,
            "error": error,
            "names": names,
            "running": [s for s in detail.sessions if s.state == "in_progress"],
            "scheduled": [s for s in detail.sessions if s.state == "scheduled"],
            "note": lambda text: recording_note_text(lang, text),
            "who": lambda actor: actor_text(lang, actor, people),
            "offered": offered,
            "span": lambda start, end: duration_text(lang, (end - start).total_seconds()),
            "recorded": [s for s in detail.sessions if s.recording_id],
            "can_export": can(principal, Permission.RECORDING_EXPORT, current),
            # People's mediation first: the default at every level; professional or sector
            # bodies (which count towards 3221 at the county) only when chosen.
            "kinds": sorted(MediatorKind, key=lambda k: k is not MediatorKind.PEOPLES_MEDIATION),
        },
        status=status_of(error) if error else 200,
    )


@routes.get("/cases/{id:\\d+}")
async def case_page(request: web.Request) -> web.StreamResponse:
    return await _render_case(request, path_id(request, "id"))


def _in_zone(local: str, zone: tzinfo) -> str:
    """A ``datetime-local`` value (``2026-12-01T09:00``) as an aware ISO instant in ``zone``;
    text that is no date-time is passed on for the case module to refuse by name."""
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        return local
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _actions(
    request: web.Request, principal: Principal, case_id: int, form: Mapping[str, Any]
) -> dict[str, Callable[[], Awaitable[object]]]:
    cases = request.app[CASES]
    when = _text(form, "scheduled_for")
    sid = int(_text(form, "sid") or 0)
    return {
        "session": lambda: cases.sessions.add(
            principal,
            case_id,
            SessionInput(
                room_id=int(_text(form, "room_id") or 0),
                mediators=_picked(form),
                mode=_text(form, "mode") or "record",
                mediator_kind=_text(form, "mediator_kind") or "peoples_mediation",
                attendees=_names(_text(form, "attendees")),
                linked_leader=_text(form, "linked_leader") or None,
                resident_official=_text(form, "resident_official") or None,
                outcome=_text(form, "outcome") or None,
                notes=_text(form, "notes"),
                # datetime-local has no zone: it is read in the deployment's zone.
                scheduled_for=_in_zone(when, request.app[SETTINGS].zone) if when else None,
            ),
        ),
        "start": lambda: cases.sessions.start(principal, case_id, sid),
        "finish": lambda: cases.sessions.finish(
            principal, case_id, sid, outcome=_text(form, "outcome"), notes=_text(form, "notes")
        ),
        "escalate": lambda: cases.escalate(
            principal, case_id, _text(form, "to_level"), _text(form, "reason")
        ),
        "leader": lambda: cases.take_charge(principal, case_id, _text(form, "leader")),
        "close": lambda: cases.close(
            principal, case_id, resolved=_text(form, "resolved") == "yes", note=_text(form, "note")
        ),
        "reopen": lambda: cases.reopen(principal, case_id, _text(form, "reason")),
        "petition": lambda: cases.link_petition(
            principal, case_id, filed_on=_text(form, "filed_on"), reference=_text(form, "reference")
        ),
    }


@routes.post("/cases/{id:\\d+}")
async def case_action(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    case_id = path_id(request, "id")
    form = await request.post()
    action = _text(form, "action")
    try:
        if action == "reveal":
            party = await request.app[CASES].reveal(principal, case_id, int(_text(form, "pid")))
            return await _render_case(request, case_id, revealed=party)
        actions = _actions(request, principal, case_id, form)
        if action not in actions:
            raise web.HTTPBadRequest(reason=f"unknown action {action!r}")
        await actions[action]()
    except GatewayError as exc:
        return await _render_case(request, case_id, error=exc)
    except ValueError:
        raise web.HTTPBadRequest(reason="malformed form field") from None
    raise web.HTTPSeeOther(f"/cases/{case_id}")


# -------------------------------------------------------------------- ledger


@routes.get("/ledger")
async def ledger_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    ledgers = request.app[LEDGERS]
    today = ledgers.today()
    month = parse_month(request.query["month"]) if request.query.get("month") else Month.of(today)
    unit = request.query.get("unit") or principal.unit_code
    ledger = await ledgers.ledger(principal, unit, month)
    names = await _unit_names(request, principal)
    kpi_units = [unit, *(r.unit for r in ledger.stages if r.unit != unit)]
    kpis = [await ledgers.kpi(principal, code, month.year) for code in kpi_units]
    trend = await ledgers.trend(principal, unit, month)
    snapshots = await ledgers.snapshots(principal, unit, month)
    board = await ledgers.board(principal, month, unit)
    common = await _common(request)
    lbl = common["lbl"]
    scale = max([0.2, *(float(k.share or 0) for k in kpis)])
    stage_totals = {s: sum(r.counts[s] for r in ledger.stages) for s in Stage}
    return render_page(
        request,
        "ledger.html",
        {
            **common,
            "can_configure_types": request.app[CASES].types.can_configure(principal),
            "ledger": ledger,
            "unit": unit,
            "month": month,
            "months": [str(m) for m in _recent(Month.of(today), 12)],
            "names": names,
            "trend": grouped_bars(
                [f"{p.month.month}月" for p in trend],
                [[p.received for p in trend], [p.closed for p in trend]],
            ),
            "by_type": hbars(
                sorted(
                    ((lbl("column", t.value), n) for t, n in ledger.by_type.items() if n),
                    key=lambda item: -item[1],
                )
            ),
            "funnel": hbars(
                [(lbl("stage", s.value), stage_totals[s]) for s in Stage], centred=True
            ),
            "kpis": [
                {
                    "kpi": k,
                    "name": names.get(k.unit, k.unit),
                    "length": 360 * float(k.share or 0) / scale,
                    "limit_x": 360 * float(k.limit) / scale,
                }
                for k in kpis
            ],
            "snapshots": snapshots,
            "board": board,
            "can_submit": can(principal, Permission.LEDGER_SUBMIT, unit),
            "error": request.query.get("error"),
            "message": request.query.get("message"),
        },
    )


def _recent(last: Month, count: int) -> list[Month]:
    months = [last]
    while len(months) < count:
        months.append(months[-1].previous())
    return months


@routes.post("/ledger/submit")
async def ledger_submit(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    form = await request.post()
    unit, month = _text(form, "unit"), _text(form, "month")
    back = {"unit": unit, "month": month}
    try:
        await request.app[LEDGERS].submit(
            principal, unit, parse_month(month), _text(form, "reason")
        )
    except GatewayError as exc:
        raise web.HTTPSeeOther(
            f"/ledger?{urlencode({**back, 'error': error_text(language_of(request), exc)})}"
        ) from None
    raise web.HTTPSeeOther(f"/ledger?{urlencode({**back, 'message': 'submitted'})}")


@routes.post("/ledger/dispute-types")
async def dispute_types_submit(request: web.Request) -> web.StreamResponse:
    """The ledger page's small admin form: add a local type, rename or (de)activate one."""
    principal = current_principal(request)
    form = await request.post()
    types = request.app[CASES].types
    back = {"unit": _text(form, "unit"), "month": _text(form, "month")}
    try:
        if _text(form, "action") == "add":
            await types.create(
                principal,
                DisputeTypeInput(
                    key=_text(form, "key"),
                    label_zh=_text(form, "label_zh"),
                    label_en=_text(form, "label_en"),
                    ledger_column=_text(form, "ledger_column") or DisputeType.OTHER.value,
                ),
            )
        else:
            active = {"activate": True, "deactivate": False}.get(_text(form, "action"))
            await types.update(
                principal,
                _text(form, "key"),
                DisputeTypePatch(
                    label_zh=_text(form, "label_zh") or None,
                    label_en=_text(form, "label_en") or None,
                    active=active,
                ),
            )
    except GatewayError as exc:
        raise web.HTTPSeeOther(
            f"/ledger?{urlencode({**back, 'error': error_text(language_of(request), exc)})}"
        ) from None
    raise web.HTTPSeeOther(f"/ledger?{urlencode({**back, 'message': 'types_saved'})}#types")
