"""Organisation: units (county → township → village), their rooms and public staff board."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ._audit import record
from ._authz import Permission, Principal, authorize, can
from ._models import Room, StaffMember, Unit
from ._unit_csv import UnitCsvError, UnitRow, order_for_import
from ._units import level_of, parent_code, scope_prefix, validate_code
from .errors import ConflictError, InvalidInputError, NotFoundError

__all__ = ["Organisation", "RoomKind", "UnitImport", "UnitNode", "build_tree"]


class RoomKind(StrEnum):
    RECEPTION = "reception"  # 群众接待室 / 一站式接待窗口
    MEDIATION = "mediation"  # 矛盾纠纷调解室


@dataclass
class UnitNode:
    unit: Unit
    children: list[UnitNode] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)


@dataclass
class UnitImport:
    """What an import changed: new units, renamed ones, and how many were already right."""

    added: list[Unit] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new
    unchanged: int = 0


def build_tree(units: list[Unit], rooms: list[Room]) -> list[UnitNode]:
    """Nest units under their parents (pure); roots are units whose parent is not given."""
    nodes = {u.code: UnitNode(u) for u in sorted(units, key=lambda u: u.code)}
    for room in sorted(rooms, key=lambda r: (r.kind, r.id)):
        if room.unit_code in nodes:
            nodes[room.unit_code].rooms.append(room)
    roots: list[UnitNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_code or "")
        (parent.children if parent else roots).append(node)
    return roots


class Organisation:
    """Reads are limited to the caller's subtree; writes need ``org.manage`` there."""

    async def units(self, session: AsyncSession, actor: Principal) -> list[Unit]:
        authorize(actor, Permission.ORG_READ, actor.unit_code)
        prefix = scope_prefix(actor.unit_code)
        rows = await session.scalars(
            select(Unit).where(Unit.code.startswith(prefix, autoescape=True)).order_by(Unit.code)
        )
        return list(rows)

    async def unit(self, session: AsyncSession, actor: Principal, code: str) -> Unit:
        unit = await session.get(Unit, code)
        if unit is None or not can(actor, Permission.ORG_READ, code):
            # The same answer for "absent" and "not yours": nothing leaks across units.
            raise NotFoundError(f"no unit {code} in your scope", code="unit_not_found")
        return unit

    async def create_unit(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        code: str,
        name: str,
        address: str = "",
        phone: str = "",
    ) -> Unit:
        try:
            validate_code(code)
        except ValueError as exc:
            raise InvalidInputError(str(exc), code="bad_unit_code") from None
        parent = parent_code(code)
        if parent is None:
            raise InvalidInputError(
                "counties are created at installation, not through the API", code="bad_unit_code"
            )
        authorize(actor, Permission.ORG_MANAGE, parent)
        if await session.get(Unit, parent) is None:
            raise NotFoundError(
                f"parent unit {parent} does not exist; create it first", code="unit_not_found"
            )
        if await session.get(Unit, code) is not None:
            raise ConflictError(f"unit {code} exists", code="unit_exists")
        if not name.strip():
            raise InvalidInputError("unit name must not be empty", code="bad_name")
        unit = Unit(
            code=code,
            name=name.strip(),
            level=level_of(code).value,
            parent_code=parent,
            address=address,
            phone=phone,
        )
        session.add(unit)
        await record(
            session,
            actor,
            "unit.create",
            object_type="unit",
            object_id=code,
            unit_code=code,
            detail={"name": unit.name},
        )
        return unit

    async def import_units(
        self, session: AsyncSession, actor: Principal, rows: list[UnitRow]
    ) -> UnitImport:
        """Add the file's units that are missing and rename those whose name changed.

        Idempotent: a second import of the same file changes nothing.  All or nothing: any
        row that cannot be imported (parent missing, outside the actor's scope, a new
        county) fails the whole file, with every such row named, before anything is written.
        """
        existing = {unit.code: unit for unit in await session.scalars(select(Unit))}
        try:
            ordered = order_for_import(rows, set(existing))
        except UnitCsvError as exc:
            raise InvalidInputError(str(exc), code="bad_unit_file") from None
        problems: list[tuple[int, str]] = []
        for row in ordered:
            if row.code not in existing and row.parent is None:
                problems.append((row.line, f"{row.code} is a county: counties are set up by init"))
            elif not can(actor, Permission.ORG_MANAGE, row.parent or row.code):
                problems.append((row.line, f"{row.code} is outside your unit"))
        if problems:
            raise InvalidInputError(str(UnitCsvError(problems)), code="bad_unit_file")
        report = UnitImport()
        for row in ordered:
            unit = existing.get(row.code)
            if unit is None:
                unit = Unit(
                    code=row.code,
                    name=row.name,
                    level=level_of(row.code).value,
                    parent_code=row.parent,
                    address=row.address,
                    phone=row.phone,
                )
                session.add(unit)
                report.added.append(unit)
            elif unit.name != row.name:
                report.renamed.append((row.code, unit.name, row.name))
                unit.name = row.name
            else:
                report.unchanged += 1
        if report.added or report.renamed:
            await session.flush()
            await record(
                session,
                actor,
                "unit.import",
                object_type="unit",
                object_id=f"{len(report.added)} added",
                unit_code=actor.unit_code if actor.kind != "system" else None,
                detail={
                    "added": [unit.code for unit in report.added],
                    "renamed": [
                        {"code": code, "from": old, "to": new} for code, old, new in report.renamed
                    ],
                    "unchanged": report.unchanged,
                },
            )
        return report

    async def rooms(
        self, session: AsyncSession, actor: Principal, unit_code: str | None = None
    ) -> list[Room]:
        scope = unit_code or actor.unit_code
        if unit_code is not None:
            await self.unit(session, actor, unit_code)
        authorize(actor, Permission.ORG_READ, scope)
        rows = await session.scalars(
            select(Room)
            .where(Room.unit_code.startswith(scope_prefix(scope), autoescape=True))
            .order_by(Room.unit_code, Room.kind, Room.id)
        )
        return list(rows)

    async def room(self, session: AsyncSession, actor: Principal, room_id: int) -> Room:
        room = await session.get(Room, room_id)
        if room is None or not can(actor, Permission.ORG_READ, room.unit_code):
            raise NotFoundError(f"no room {room_id} in your scope", code="room_not_found")
        return room

    async def create_room(
        self, session: AsyncSession, actor: Principal, *, unit_code: str, kind: str, name: str
    ) -> Room:
        try:
            room_kind = RoomKind(kind)
        except ValueError:
            raise InvalidInputError(
                f"room kind must be 'reception' or 'mediation', got {kind!r}", code="bad_room_kind"
            ) from None
        authorize(actor, Permission.ORG_MANAGE, unit_code)
        await self.unit(session, actor, unit_code)
        if not name.strip():
            raise InvalidInputError("room name must not be empty", code="bad_name")
        room = Room(unit_code=unit_code, kind=room_kind.value, name=name.strip())
        session.add(room)
        await session.flush()
        await record(
            session,
            actor,
            "room.create",
            object_type="room",
            object_id=room.id,
            unit_code=unit_code,
            detail={"name": room.name, "kind": room.kind},
        )
        return room

    async def staff(
        self, session: AsyncSession, actor: Principal, unit_code: str
    ) -> list[StaffMember]:
        await self.unit(session, actor, unit_code)
        rows = await session.scalars(
            select(StaffMember)
            .where(StaffMember.unit_code == unit_code)
            .order_by(StaffMember.position, StaffMember.id)
        )
        return list(rows)

    async def add_staff(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        unit_code: str,
        name: str,
        title: str,
        phone: str = "",
    ) -> StaffMember:
        authorize(actor, Permission.ORG_MANAGE, unit_code)
        await self.unit(session, actor, unit_code)
        if not name.strip() or not title.strip():
            raise InvalidInputError("staff name and title must not be empty", code="bad_name")
        count = len(await self.staff(session, actor, unit_code))
        member = StaffMember(
            unit_code=unit_code,
            name=name.strip(),
            title=title.strip(),
            phone=phone.strip(),
            position=count,
        )
        session.add(member)
        await session.flush()
        await record(
            session,
            actor,
            "staff.add",
            object_type="staff",
            object_id=member.id,
            unit_code=unit_code,
            detail={"name": member.name, "title": member.title},
        )
        return member
