"""Restream accounts: create, list, revoke, and the credentials the RTSP server checks.

One account per pulling machine (一机一账号): a platform or NVR gets its own name and a
password the gateway generates and shows once; it sees the cameras of its unit's subtree
(一级一权限) and nothing else; revoking it cuts its running pulls.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Permission,
    Principal,
    SecretBox,
    Unit,
    authorize,
    record,
    scope_prefix,
    utcnow,
)
from uplink._restream_models import RestreamAccount

__all__ = ["NewRestreamAccount", "RestreamAccounts", "RestreamCredential"]

# RTSP URLs carry the name (rtsp://name:password@host/...): letters, digits, . _ - only.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")


@dataclass(frozen=True, slots=True)
class NewRestreamAccount:
    account: RestreamAccount
    password: str  # shown once, never stored in clear


@dataclass(frozen=True, slots=True)
class RestreamCredential:
    """What the RTSP server needs to check a client's Digest and scope its pulls."""

    account_id: int
    name: str
    unit_code: str
    password: str

    @property
    def actor(self) -> str:
        """How the audit log names this client."""
        return f"restream:{self.name}"


def _context(name: str) -> str:
    return f"restream-account:{name}"


class RestreamAccounts:
    """The account store; every change is audited in the caller's transaction."""

    def __init__(self, secrets_box: SecretBox) -> None:
        self._box = secrets_box

    async def create(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        name: str,
        unit_code: str,
        note: str = "",
    ) -> NewRestreamAccount:
        name = name.strip()
        if not _NAME.match(name):
            raise InvalidInputError(
                "a restream account name is 3–64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit",
                code="bad_restream_name",
            )
        if len(note) > 200:
            raise InvalidInputError("the note is longer than 200 characters", code="bad_note")
        authorize(actor, Permission.TOKEN_MANAGE, unit_code)
        if await session.get(Unit, unit_code) is None:
            raise NotFoundError(f"unit {unit_code} does not exist", code="unit_not_found")
        taken = await session.scalar(select(RestreamAccount.id).where(RestreamAccount.name == name))
        if taken is not None:
            raise ConflictError(
                f"a restream account named {name!r} exists; one machine, one account — "
                "revoke it or choose another name",
                code="restream_name_taken",
            )
        password = secrets.token_urlsafe(18)
        account = RestreamAccount(
            name=name,
            unit_code=unit_code,
            password_sealed=self._box.seal(password, context=_context(name)),
            note=note.strip(),
            created_by=actor.actor,
        )
        session.add(account)
        await session.flush()
        await record(
            session,
            actor,
            "restream.account.create",
            object_type="restream_account",
            object_id=account.id,
            unit_code=unit_code,
            detail={"name": name},
        )
        return NewRestreamAccount(account, password)

    async def list(self, session: AsyncSession, actor: Principal) -> list[RestreamAccount]:
        authorize(actor, Permission.TOKEN_MANAGE, actor.unit_code)
        rows = await session.scalars(
            select(RestreamAccount)
            .where(RestreamAccount.unit_code.startswith(scope_prefix(actor.unit_code)))
            .order_by(RestreamAccount.id)
        )
        return list(rows)

    async def revoke(
        self, session: AsyncSession, actor: Principal, account_id: int
    ) -> RestreamAccount:
        account = await session.get(RestreamAccount, account_id)
        if account is None:
            raise NotFoundError(
                f"no restream account with id {account_id}", code="restream_account_not_found"
            )
        try:
            authorize(actor, Permission.TOKEN_MANAGE, account.unit_code)
        except Exception:
            # outside the caller's scope: as if it did not exist
            raise NotFoundError(
                f"no restream account with id {account_id}", code="restream_account_not_found"
            ) from None
        if account.revoked_at is None:
            account.revoked_at = utcnow()
            await record(
                session,
                actor,
                "restream.account.revoke",
                object_type="restream_account",
                object_id=account.id,
                unit_code=account.unit_code,
                detail={"name": account.name},
            )
        return account

    async def credential(self, session: AsyncSession, name: str) -> RestreamCredential | None:
        """The active account named ``name`` with its password, or None."""
        if not _NAME.match(name):
            return None
        account = await session.scalar(
            select(RestreamAccount).where(
                RestreamAccount.name == name, RestreamAccount.revoked_at.is_(None)
            )
        )
        if account is None:
            return None
        password = self._box.open(account.password_sealed, context=_context(account.name))
        return RestreamCredential(account.id, account.name, account.unit_code, password)

    async def revoked_among(self, session: AsyncSession, ids: set[int]) -> set[int]:
        """Which of ``ids`` are revoked or gone (their running pulls must end)."""
        if not ids:
            return set()
        active = set(
            await session.scalars(
                select(RestreamAccount.id).where(
                    RestreamAccount.id.in_(ids), RestreamAccount.revoked_at.is_(None)
                )
            )
        )
        return ids - active

    async def touch(self, session: AsyncSession, account_id: int) -> None:
        await session.execute(
            update(RestreamAccount)
            .where(RestreamAccount.id == account_id)
            .values(last_used_at=utcnow())
        )
