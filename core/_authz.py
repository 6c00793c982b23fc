"""一级一权限: the one authorization decision every read and write goes through (pure).

A caller may act on an object when (1) the caller's role grants the permission and (2) the
caller's unit contains the object's unit: the county sees everything in the county, a
township its own centre and its villages, a village only itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from ._units import Level, contains, level_of
from .errors import GatewayError, PermissionDeniedError

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Principal",
    "Role",
    "authorize",
    "authorize_visible",
    "can",
]


class Role(StrEnum):
    ADMIN = "admin"  # manages units, rooms, accounts, cameras of its subtree
    OPERATOR = "operator"  # watches rooms and talks into them
    MEDIATOR = "mediator"  # handles dispute cases and their recordings
    CHAIR = "chair"  # chairs video meetings (township 政法委员), may take the talk floor
    AUDITOR = "auditor"  # reads the audit log, recordings and ledgers; changes nothing


class Permission(StrEnum):
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    USER_MANAGE = "user.manage"
    TOKEN_MANAGE = "token.manage"
    CAMERA_VIEW = "camera.view"
    CAMERA_TALK = "camera.talk"
    CAMERA_TALK_TAKEOVER = "camera.talk_takeover"
    CAMERA_MANAGE = "camera.manage"
    RECORDING_VIEW = "recording.view"
    RECORDING_CONTROL = "recording.control"
    RECORDING_EXPORT = "recording.export"
    CASE_READ = "case.read"
    CASE_WRITE = "case.write"
    CASE_REVEAL_PII = "case.reveal_pii"
    LEDGER_READ = "ledger.read"
    LEDGER_SUBMIT = "ledger.submit"
    MEETING_JOIN = "meeting.join"
    MEETING_CHAIR = "meeting.chair"
    AUDIT_READ = "audit.read"


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {_P.ORG_READ, _P.CAMERA_VIEW, _P.CAMERA_TALK, _P.RECORDING_VIEW, _P.MEETING_JOIN}
    ),
    Role.MEDIATOR: frozenset(
        {
            _P.ORG_READ,
            _P.CAMERA_VIEW,
            _P.CAMERA_TALK,
            _P.RECORDING_VIEW,
            _P.RECORDING_CONTROL,
            _P.RECORDING_EXPORT,
            _P.CASE_READ,
            _P.CASE_WRITE,
            _P.CASE_REVEAL_PII,
            _P.LEDGER_READ,
            _P.LEDGER_SUBMIT,
            _P.MEETING_JOIN,
        }
    ),
    Role.CHAIR: frozenset(
        {
            _P.ORG_READ,
            _P.CAMERA_VIEW,
            _P.CAMERA_TALK,
            _P.CAMERA_TALK_TAKEOVER,
            _P.RECORDING_VIEW,
            _P.CASE_READ,
            _P.LEDGER_READ,
            _P.MEETING_JOIN,
            _P.MEETING_CHAIR,
        }
    ),
    Role.AUDITOR: frozenset(
        {_P.ORG_READ, _P.RECORDING_VIEW, _P.CASE_READ, _P.LEDGER_READ, _P.AUDIT_READ}
    ),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a person, a machine account, or the gateway itself."""

    kind: Literal["user", "machine", "system"]
    id: int
    name: str
    unit_code: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit log names this caller (``user:alice``, ``token:xueliang-uplink``)."""
        return {"user": "user", "machine": "token", "system": "system"}[self.kind] + ":" + self.name

    @property
    def level(self) -> Level:
        return level_of(self.unit_code)

    def has(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def can(principal: Principal, permission: Permission, unit_code: str) -> bool:
    """The decision itself: role grants ``permission`` and the unit is in the caller's scope."""
    if principal.kind == "system":
        return True
    return principal.has(permission) and contains(principal.unit_code, unit_code)


def authorize_visible(
    principal: Principal, permission: Permission, unit_code: str, missing: GatewayError
) -> None:
    """:func:`authorize` for an object looked up by id: one outside the caller's scope is
    ``missing`` (the caller's "no such object" error), exactly as if it did not exist, so
    that ids cannot be probed; inside the scope a role without ``permission`` gets 403."""
    if principal.kind != "system" and not contains(principal.unit_code, unit_code):
        raise missing
    authorize(principal, permission, unit_code)


def authorize(principal: Principal, permission: Permission, unit_code: str) -> None:
    """Raise :class:`PermissionDeniedError` unless :func:`can` allows it.

    The message names neither the object nor its unit, so a refusal leaks nothing about
    objects outside the caller's scope.
    """
    if principal.kind == "system":
        return
    if not principal.has(permission):
        raise PermissionDeniedError(
            f"your role ({principal.role}) does not allow {permission}; ask an administrator",
            code="role_forbidden",
        )
    if not contains(principal.unit_code, unit_code):
        raise PermissionDeniedError(
            "this object belongs to a unit outside your scope", code="scope_forbidden"
        )
