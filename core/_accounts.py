"""Accounts: 一人一密码 (personal accounts, passwords, lockout, browser sessions) and
一机一账号 (one revocable token per machine client)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ._audit import record
from ._authz import Permission, Principal, Role, authorize, authorize_visible
from ._db import Database, utcnow
from ._models import ApiToken, Unit, User, WebSession
from ._passwords import PasswordPolicy, hash_password, verify_password
from ._settings import SecuritySettings
from ._throttle import SignInThrottle
from .errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)

__all__ = [
    "AccountLockedError",
    "Accounts",
    "LoginFailedError",
    "NewToken",
    "SignInThrottledError",
    "SignedIn",
]

_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_TOKEN_PREFIX = "zzg_"


class LoginFailedError(AuthenticationError):
    code = "login_failed"


class SignInThrottledError(RateLimitedError):
    """Too many failed sign-ins from this address or for this name: wait, then retry."""

    code = "login_throttled"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(f"too many failed sign-ins; wait {seconds} s and try again")
        self.retry_after = seconds


class AccountLockedError(AuthenticationError):
    code = "account_locked"

    def __init__(self, until: datetime) -> None:
        minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
        super().__init__(
            f"account locked after repeated failed logins; try again in {minutes} min "
            "or ask an administrator to unlock it"
        )
        self.minutes = minutes


@dataclass(frozen=True, slots=True)
class SessionChange:
    """A browser session row that must be written before the request goes on."""

    id_hash: str
    expired: bool


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    #: The session cookie's value, never stored.
    secret: str
    session: WebSession


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    #: The secret, shown once to whoever created it and never stored.
    secret: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _record_throttle(
    session: AsyncSession, user: User | None, name: str, action: str, remote: str
) -> None:
    """Audit an account name entering (``login.throttled``) or leaving its throttle."""
    if user is not None:
        await _record_user(session, principal_of(user), user, action, {"remote": remote})
        return
    await record(
        session,
        f"anonymous:{name[:64]}",
        action,
        object_type="user",
        object_id=name[:64],
        detail={"remote": remote},
    )


async def _record_user(
    session: AsyncSession,
    actor: Principal,
    user: User,
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    """Audit an event about one personal account, filed under the account's unit."""
    await record(
        session,
        actor,
        action,
        object_type="user",
        object_id=user.id,
        unit_code=user.unit_code,
        detail=detail,
    )


def principal_of(user: User) -> Principal:
    return Principal("user", user.id, user.username, user.unit_code, Role(user.role))


class Accounts:
    """Account operations; each takes the caller's session so audit shares the transaction."""

    def __init__(self, security: SecuritySettings) -> None:
        self.security = security
        self.policy = PasswordPolicy(security.password_min_length)
        # A real hash to verify against when the username is unknown, so a wrong username
        # costs the same time as a wrong password and does not reveal which accounts exist.
        self._dummy_hash: str | None = None
        self._token_seen: dict[int, float] = {}  # token id → monotonic time of last record
        self.throttle = SignInThrottle(account_free=security.lockout_threshold)
        self.clock = time.monotonic
        #: key of the trusted-device cookies (set from secret.key by the app; a random
        #: per-process key until then, so that no cookie is trusted by a guessable key)
        self.device_key = secrets.token_bytes(32)

    def device_token(self, username: str) -> str:
        """The trusted-device cookie a browser gets when ``username`` signs in on it."""
        name = username.strip().lower()
        mac = hmac.new(self.device_key, name.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{name}:{mac}"

    def trusts(self, username: str, token: str | None) -> bool:
        """Whether ``token`` is this account's trusted-device cookie."""
        return bool(token) and hmac.compare_digest(
            (token or "").encode(), self.device_token(username).encode()
        )

    # -- personal accounts -------------------------------------------------------------

    async def create_user(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        username: str,
        password: str,
        unit_code: str,
        role: Role | str,
        display_name: str = "",
    ) -> User:
        username = username.strip().lower()
        if not username or not set(username) <= _USERNAME_CHARS or len(username) > 64:
            raise InvalidInputError(
                "username must be 1–64 characters of a-z, 0-9, '.', '_' or '-'", code="bad_username"
            )
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInputError(
                f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}",
                code="bad_role",
            ) from None
        authorize(actor, Permission.USER_MANAGE, unit_code)
        if await session.get(Unit, unit_code) is None:
            raise NotFoundError(f"unit {unit_code} does not exist", code="unit_not_found")
        if await session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ConflictError(f"username {username} is taken", code="username_taken")
        self.policy.check(password, username)
        user = User(
            username=username,
            display_name=display_name,
            unit_code=unit_code,
            role=role.value,
            password_hash=await asyncio.to_thread(hash_password, password),
        )
        session.add(user)
        await session.flush()
        await record(
            session,
            actor,
            "user.create",
            object_type="user",
            object_id=user.id,
            unit_code=unit_code,
            detail={"username": username, "role": role.value},
        )
        return user

    async def get_user(self, session: AsyncSession, actor: Principal, username: str) -> User:
        user = await session.scalar(select(User).where(User.username == username.lower()))
        missing = NotFoundError(f"no user named {username}", code="user_not_found")
        if user is None:
            raise missing
        authorize_visible(actor, Permission.USER_MANAGE, user.unit_code, missing)
        return user

    async def set_password(
        self, session: AsyncSession, actor: Principal, username: str, password: str
    ) -> None:
        """An administrator sets a new password; this also unlocks the account."""
        user = await self.get_user(session, actor, username)
        self.policy.check(password, user.username)
        user.password_hash = await asyncio.to_thread(hash_password, password)
        user.password_changed_at = utcnow()
        user.failed_logins, user.locked_until = 0, None
        await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        await _record_user(session, actor, user, "user.password_reset")

    async def change_own_password(
        self,
        session: AsyncSession,
        user_id: int,
        old: str,
        new: str,
        *,
        keep_session: str | None = None,
    ) -> None:
        """Change your own password; every other browser session of yours ends (whoever
        knew the old password may be signed in there), the one making the change
        (``keep_session``, its id hash) stays."""
        user = await session.get(User, user_id)
        if user is None or user.disabled:
            raise AuthenticationError("your account no longer exists or is disabled")
        if not await asyncio.to_thread(verify_password, user.password_hash, old):
            raise InvalidInputError("the current password is wrong", code="wrong_password")
        if old == new:
            raise InvalidInputError(
                "the new password must differ from the current one", code="weak_password"
            )
        self.policy.check(new, user.username)
        user.password_hash = await asyncio.to_thread(hash_password, new)
        user.password_changed_at = utcnow()
        others = delete(WebSession).where(WebSession.user_id == user.id)
        if keep_session is not None:
            others = others.where(WebSession.id_hash != keep_session)
        ended = getattr(await session.execute(others), "rowcount", 0)
        await _record_user(
            session,
            principal_of(user),
            user,
            "user.password_change",
            {"other_sessions_ended": int(ended or 0)},
        )

    async def set_disabled(
        self, session: AsyncSession, actor: Principal, username: str, disabled: bool
    ) -> User:
        user = await self.get_user(session, actor, username)
        if actor.kind == "user" and actor.id == user.id and disabled:
            raise ConflictError("you cannot disable your own account", code="self_disable")
        user.disabled = disabled
        if disabled:
            await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        else:
            user.failed_logins, user.locked_until = 0, None
        await _record_user(session, actor, user, "user.disable" if disabled else "user.enable")
        return user

    async def sign_in(
        self,
        db: Database,
        username: str,
        password: str,
        *,
        remote: str = "",
        device: str | None = None,
    ) -> SignedIn | AuthenticationError | SignInThrottledError:
        """Check a password and, when it is right, open a browser session.

        Three steps so that the ~50 ms argon2 hash never runs inside a write transaction
        (on SQLite ``BEGIN IMMEDIATE`` holds the database's one write lock, and a burst of
        failed sign-ins would stall the audit log and the recording index behind it):
        a read finds the account, the hash is verified on a worker thread with no
        transaction open, and one short write records the outcome — failure count, lock,
        audit entry, and the new session.

        A failure is *returned*, not raised, once its count and audit entry are committed.

        Failures are throttled, not locked out (:mod:`core._throttle`): too many from an
        address or for a name, and the next attempt must wait; ``device`` is the browser's
        trusted-device cookie, which exempts it from its own account's throttle.  Unknown
        name, wrong password, disabled or (formerly) locked account: one answer, after
        the same argon2 work.
        """
        name = username.strip().lower()
        trusted = self.trusts(name, device)
        wait = self.throttle.wait(remote, name, self.clock(), trusted=trusted)
        if wait > 0:
            return SignInThrottledError(wait)
        async with db.read() as session:
            found = await session.scalar(select(User).where(User.username == name))
            checked_hash = None
            if found is not None and not found.disabled:
                checked_hash = found.password_hash
        if checked_hash is not None:
            ok = await asyncio.to_thread(verify_password, checked_hash, password)
        else:
            # Unknown or disabled: the same work as a wrong password, so the answer's
            # timing does not tell which accounts exist.
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(8))
            await asyncio.to_thread(verify_password, self._dummy_hash, password)
            ok = False
        async with db.transaction() as session:
            outcome = await self._record_sign_in(session, username, checked_hash, ok, remote=remote)
            if isinstance(outcome, AuthenticationError):
                if self.throttle.failure(remote, name, self.clock()):
                    await _record_throttle(session, found, name, "login.throttled", remote)
                return outcome
            if self.throttle.success(remote, name):
                await _record_throttle(session, outcome, name, "login.unthrottled", remote)
            secret, row = await self.open_session(session, outcome)
        return SignedIn(outcome, secret, row)

    async def _record_sign_in(
        self,
        session: AsyncSession,
        username: str,
        checked_hash: str | None,
        ok: bool,
        *,
        remote: str,
    ) -> User | AuthenticationError:
        """The write step of :meth:`sign_in`: the account as it is now decides."""
        user = await session.scalar(
            select(User).where(User.username == username.strip().lower()).with_for_update()
        )
        now = utcnow()
        if user is None or user.disabled:
            await record(
                session,
                f"anonymous:{username[:64]}",
                "login.failed",
                object_type="user",
                object_id=username[:64],
                detail={"remote": remote, "reason": "unknown or disabled"},
            )
            return LoginFailedError("wrong username or password")
        # A lock set by an earlier version (lockouts are gone: see core._throttle) keeps
        # its account closed until it ends, with the same answer as a wrong password.
        locked = user.locked_until is not None and user.locked_until > now
        # A password set while the hash was being checked: the check was of the old one.
        if locked or not ok or checked_hash != user.password_hash:
            user.failed_logins += 1
            detail: dict[str, object] = {"remote": remote, "failures": user.failed_logins}
            if locked:
                detail["locked_until"] = user.locked_until.isoformat()  # type: ignore[union-attr]
            await _record_user(session, principal_of(user), user, "login.failed", detail)
            return LoginFailedError("wrong username or password")
        user.failed_logins, user.locked_until = 0, None
        await _record_user(session, principal_of(user), user, "login", {"remote": remote})
        return user

    # -- browser sessions ----------------------------------------------------------------

    async def open_session(self, session: AsyncSession, user: User) -> tuple[str, WebSession]:
        """Start a browser session; returns the cookie value (never stored) and the row."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        row = WebSession(
            id_hash=_sha256(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=self.security.session_ttl_minutes),
        )
        session.add(row)
        return secret, row

    async def resolve_session(
        self, session: AsyncSession, secret: str
    ) -> tuple[Principal, WebSession, User] | SessionChange | None:
        """The caller of a cookie (read only): ``None`` when it is unknown; a
        :class:`SessionChange` when the row must be written first — expired or idle too
        long (delete it), or its last activity is old enough to record (touch it).

        Activity is recorded once a tenth of the idle timeout has passed, so a session in
        use never reaches the timeout, and requests cost no write in between.
        """
        row = await session.get(WebSession, _sha256(secret))
        if row is None:
            return None
        now = utcnow()
        idle = timedelta(minutes=self.security.session_idle_minutes)
        user = await session.get(User, row.user_id)
        if row.expires_at <= now or row.last_seen_at + idle <= now or user is None or user.disabled:
            return SessionChange(row.id_hash, expired=True)
        if now - row.last_seen_at > idle / 10:
            return SessionChange(row.id_hash, expired=False)
        return principal_of(user), row, user

    async def apply_session_change(
        self, session: AsyncSession, secret: str, change: SessionChange
    ) -> tuple[Principal, WebSession, User] | None:
        """Delete an expired session or record its activity, in a write transaction."""
        row = await session.get(WebSession, change.id_hash)
        if row is None:
            return None
        if change.expired:
            await session.delete(row)
            return None
        row.last_seen_at = utcnow()
        resolved = await self.resolve_session(session, secret)
        return resolved if isinstance(resolved, tuple) else None

    async def close_session(self, session: AsyncSession, secret: str) -> None:
        row = await session.get(WebSession, _sha256(secret))
        if row is not None:
            user = await session.get(User, row.user_id)
            await session.delete(row)
            if user is not None:
                await _record_user(session, principal_of(user), user, "logout")

    # -- machine accounts ------------------------------------------------------------------

    async def create_token(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        name: str,
        unit_code: str,
        role: Role | str,
    ) -> NewToken:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInputError("token name must be 1–100 characters", code="bad_token_name")
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInputError(f"unknown role {role!r}", code="bad_role") from None
        authorize(actor, Permission.TOKEN_MANAGE, unit_code)
        if await session.get(Unit, unit_code) is None:
            raise NotFoundError(f"unit {unit_code} does not exist", code="unit_not_found")
        if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise ConflictError(
                f"a machine account named {name!r} exists; one machine, one account — "
                "revoke it or choose another name",
                code="token_name_taken",
            )
        secret = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            name=name,
            unit_code=unit_code,
            role=role.value,
            token_hash=_sha256(secret),
            prefix=secret[:10],
            created_by=actor.actor,
        )
        session.add(token)
        await session.flush()
        await record(
            session,
            actor,
            "token.create",
            object_type="token",
            object_id=token.id,
            unit_code=unit_code,
            detail={"name": name, "role": role.value},
        )
        return NewToken(token, secret)

    async def revoke_token(
        self, session: AsyncSession, actor: Principal, token_id: int
    ) -> ApiToken:
        token = await session.get(ApiToken, token_id)
        missing = NotFoundError(f"no machine account with id {token_id}", code="token_not_found")
        if token is None:
            raise missing
        authorize_visible(actor, Permission.TOKEN_MANAGE, token.unit_code, missing)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            await record(
                session,
                actor,
                "token.revoke",
                object_type="token",
                object_id=token.id,
                unit_code=token.unit_code,
                detail={"name": token.name},
            )
        return token

    async def resolve_token(self, session: AsyncSession, secret: str) -> Principal:
        if not secret.startswith(_TOKEN_PREFIX):
            raise AuthenticationError("malformed bearer token", code="bad_token")
        token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
        if token is None:
            raise AuthenticationError("unknown bearer token", code="bad_token")
        if token.revoked_at is not None:
            raise AuthenticationError(
                "this machine account's token was revoked; ask an administrator for a new one",
                code="token_revoked",
            )
        return Principal("machine", token.id, token.name, token.unit_code, Role(token.role))

    def token_needs_touch(self, principal: Principal) -> bool:
        """Whether the token's last use is old enough to record (once a minute at most)."""
        last = self._token_seen.get(principal.id)
        return last is None or time.monotonic() - last > 60.0

    async def touch_token(self, session: AsyncSession, principal: Principal) -> None:
        self._token_seen[principal.id] = time.monotonic()
        await session.execute(
            update(ApiToken).where(ApiToken.id == principal.id).values(last_used_at=utcnow())
        )
