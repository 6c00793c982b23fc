"""JSON shapes of the ground floor's rows, shared by the API and the CLI."""

from __future__ import annotations

from typing import Any

from ._models import ApiToken, Room, StaffMember, Unit, User

__all__ = ["room_json", "staff_json", "token_json", "unit_json", "user_json"]


def unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "parent": unit.parent_code,
        "address": unit.address,
        "phone": unit.phone,
    }


def room_json(room: Room) -> dict[str, Any]:
    return {"id": room.id, "unit": room.unit_code, "kind": room.kind, "name": room.name}


def staff_json(member: StaffMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "unit": member.unit_code,
        "name": member.name,
        "title": member.title,
        "phone": member.phone,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "unit": user.unit_code,
        "role": user.role,
        "disabled": user.disabled,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "unit": token.unit_code,
        "role": token.role,
        "prefix": token.prefix,
        "created_by": token.created_by,
        "created_at": token.created_at.isoformat(),
        "revoked": token.revoked_at is not None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }
