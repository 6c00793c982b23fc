"""The audit log as a county auditor uses it: in words, with names, paged, filtered by who,
what, unit and time range, searched, exported (CSV/XLSX), verified.

Live-view and talk sessions are one line each with their duration; the chain keeps both
of their entries (and the export lists every entry as stored).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web
from openpyxl import Workbook
from sqlalchemy import ColumnElement, and_, column, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from core import (
    AuditEntry,
    InvalidInputError,
    Permission,
    Room,
    Unit,
    User,
    authorize,
    in_scope,
    scope_prefix,
    verify_chain,
)

from ._audit_words import ACTIONS, AuditLine, action_text, describe, folded
from ._context import DB, SETTINGS, current_principal
from ._i18n import language_of, translate
from ._render import local_time, render_page

__all__ = ["audit_lines_for", "routes"]

routes = web.RouteTableDef()

PAGE = 50
EXPORT_LIMIT = 20_000
_CAMERAS = table("cameras", column("id"), column("name"))
_CASES = table("cases", column("id"), column("number"))


def _day(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD") from None


def _filters(request: web.Request) -> tuple[list[ColumnElement[bool]], dict[str, str]]:
    """SQL conditions from the query (who, what, unit, from, to, q) in the caller's scope."""
    principal = current_principal(request)
    zone = request.app[SETTINGS].zone
    q = {k: request.query.get(k, "").strip() for k in ("who", "what", "unit", "from", "to", "q")}
    where: list[ColumnElement[bool]] = [in_scope(principal)]
    if q["who"]:
        where.append(AuditEntry.actor.contains(q["who"], autoescape=True))
    if q["what"]:
        where.append(
            or_(
                AuditEntry.action == q["what"],
                AuditEntry.action.startswith(q["what"] + ".", autoescape=True),
            )
        )
    if q["unit"]:
        try:
            prefix = scope_prefix(q["unit"])
        except ValueError:
            raise InvalidInputError(f"unit {q['unit']!r} is not a division code") from None
        where.append(AuditEntry.unit_code.startswith(prefix, autoescape=True))
    start, end = _day(q["from"], "from"), _day(q["to"], "to")
    if start is not None:
        where.append(AuditEntry.at >= datetime.combine(start, time(), zone).astimezone(UTC))
    if end is not None:
        stop = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
        where.append(AuditEntry.at < stop)
    if q["q"]:
        words = q["q"]
        where.append(
            or_(
                AuditEntry.detail.contains(words, autoescape=True),
                AuditEntry.object_id.contains(words, autoescape=True),
                AuditEntry.actor.contains(words, autoescape=True),
                AuditEntry.action.contains(words, autoescape=True),
            )
        )
    return where, q


async def _names(
    session: AsyncSession, entries: Iterable[AuditEntry]
) -> tuple[dict[str, str], dict[str, str], dict[tuple[str, str], str]]:
    """People by username, units by code, and the objects the entries name."""
    entries = list(entries)
    people = {
        u.username: u.display_name for u in await session.scalars(select(User))
    }  # a county has hundreds of accounts at most
    units = {u.code: u.name for u in await session.scalars(select(Unit))}
    objects: dict[tuple[str, str], str] = {}
    ids: dict[str, set[int]] = {}
    for e in entries:
        if e.object_id.isdigit():
            ids.setdefault(e.object_type, set()).add(int(e.object_id))
    if ids.get("camera"):
        rows = await session.execute(
            select(_CAMERAS.c.id, _CAMERAS.c.name).where(_CAMERAS.c.id.in_(ids["camera"]))
        )
        objects |= {("camera", str(i)): str(n) for i, n in rows}
    if ids.get("case"):
        rows = await session.execute(
            select(_CASES.c.id, _CASES.c.number).where(_CASES.c.id.in_(ids["case"]))
        )
        objects |= {("case", str(i)): str(n) for i, n in rows}
    if ids.get("room"):
        for room in await session.scalars(select(Room).where(Room.id.in_(ids["room"]))):
            objects[("room", str(room.id))] = room.name
    for e in entries:
        if e.object_type == "unit" and e.object_id in units:
            objects[("unit", e.object_id)] = units[e.object_id]
        if e.object_type == "user" and e.object_id.isdigit() is False and e.object_id in people:
            objects[("user", e.object_id)] = f"{people[e.object_id]}（{e.object_id}）"
    return people, units, objects


async def audit_lines_for(
    session: AsyncSession, lang: str, entries: list[AuditEntry], *, fold: bool = True
) -> list[AuditLine]:
    people, units, objects = await _names(session, entries)
    if fold:
        return folded(lang, entries, people, units, objects)
    return [describe(lang, e, people, units, objects) for e in entries]


@routes.get("/audit")
async def audit_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    authorize(principal, Permission.AUDIT_READ, principal.unit_code)
    lang = language_of(request)
    where, q = _filters(request)
    fmt = request.query.get("format", "")
    try:
        page = max(1, int(request.query.get("page") or 1))
    except ValueError:
        page = 1
    async with request.app[DB].read() as session:
        total = int(
            await session.scalar(select(func.count()).select_from(AuditEntry).where(and_(*where)))
            or 0
        )
        query = select(AuditEntry).where(and_(*where)).order_by(AuditEntry.seq.desc())
        if fmt in ("csv", "xlsx"):
            entries = list(await session.scalars(query.limit(EXPORT_LIMIT)))
            lines = await audit_lines_for(session, lang, entries, fold=False)
            return await _export(request, fmt, lang, lines, entries)
        entries = list(await session.scalars(query.limit(PAGE).offset((page - 1) * PAGE)))
        lines = await audit_lines_for(session, lang, entries)
        units = {
            u.code: u.name
            for u in await session.scalars(select(Unit).order_by(Unit.code))
            if u.code.startswith(scope_prefix(principal.unit_code))
        }
    verify = None
    if request.query.get("verify") == "1":
        async with request.app[DB].read() as session:
            verify = await verify_chain(session)
    pages = max(1, -(-total // PAGE))
    keep = {k: v for k, v in q.items() if v}
    return render_page(
        request,
        "audit.html",
        {
            "lines": lines,
            "verify": verify,
            "q": q,
            "keep": keep,
            "page": page,
            "pages": pages,
            "total": total,
            "units": units,
            "actions": sorted(
                {code.rsplit(".", 1)[0] if code.count(".") > 1 else code for code in ACTIONS}
            ),
            "action_text": lambda code: action_text(lang, code),
        },
    )


_HEAD = ("Entry", "Time", "Actor", "Action", "Object", "Unit", "Code", "Detail")


def _rows(
    request: web.Request, lang: str, lines: list[AuditLine], entries: list[AuditEntry]
) -> Iterable[list[str]]:
    zone = request.app[SETTINGS].zone
    yield [translate(lang, h) for h in _HEAD]
    details: Mapping[int, str] = {e.seq: e.detail for e in entries}
    for line in lines:
        yield [
            str(line.seq),
            local_time(line.at, "%Y-%m-%d %H:%M:%S", zone=zone),
            line.actor,
            line.action,
            line.target,
            line.unit,
            line.code,
            details.get(line.seq, ""),
        ]


async def _export(
    request: web.Request,
    fmt: str,
    lang: str,
    lines: list[AuditLine],
    entries: list[AuditEntry],
) -> web.StreamResponse:
    stamp = datetime.now(request.app[SETTINGS].zone).strftime("%Y%m%d-%H%M")
    rows = list(_rows(request, lang, lines, entries))
    # Building a sheet of thousands of rows is CPU work: off the event loop.
    body, kind = await asyncio.to_thread(_build, fmt, lang, rows)
    return web.Response(
        body=body,
        headers={
            "Content-Type": kind,
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


def _build(fmt: str, lang: str, rows: list[list[str]]) -> tuple[bytes, str]:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        body = ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8
        kind = "text/csv; charset=utf-8"
    else:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "审计日志" if lang == "zh-CN" else "Audit log"
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return body, kind
