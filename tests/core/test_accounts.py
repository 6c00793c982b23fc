"""一人一密码 and 一机一账号: passwords, lockout, sessions, machine tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import (
    SYSTEM,
    Accounts,
    AuditEntry,
    AuthenticationError,
    ConflictError,
    Database,
    LoginFailedError,
    PasswordPolicy,
    PermissionDeniedError,
    Principal,
    Role,
    SecuritySettings,
    SessionChange,
    SignedIn,
    SignInThrottledError,
    User,
    WeakPasswordError,
    WebSession,
    utcnow,
)
from gateway._demo import DEMO_PASSWORD


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1", "at least 10"),
        ("onlyletterslong", "letters and digits"),
        ("1234567890", "letters and digits"),
        ("alice-2026-pass", "username"),
        ("Password1", "at least 10"),
    ],
)
def test_policy_refuses_weak_passwords(password: str, problem: str) -> None:
    with pytest.raises(WeakPasswordError, match=problem):
        PasswordPolicy(10).check(password, "alice")


def test_policy_accepts_a_good_password() -> None:
    PasswordPolicy(10).check("river-bank-4821", "alice")


async def test_repeated_failures_throttle_instead_of_locking_and_are_audited(db: Database) -> None:
    accounts = Accounts(SecuritySettings(lockout_threshold=3))
    clock = [1000.0]
    accounts.clock = lambda: clock[0]
    outcomes = [
        await accounts.sign_in(db, "hpx.watch", "wrong-password-1", remote="198.51.100.7")
        for _ in range(4)
    ]
    assert [type(o) for o in outcomes] == [
        LoginFailedError,
        LoginFailedError,
        LoginFailedError,
        SignInThrottledError,  # the 4th comes too soon after the 3rd failure
    ]
    assert outcomes[-1].retry_after == 1 and "wait 1 s" in str(outcomes[-1])
    clock[0] += 1.0
    # After the wait the right password opens the account: no lock was set.
    signed_in = await accounts.sign_in(db, "hpx.watch", DEMO_PASSWORD, remote="198.51.100.7")
    assert isinstance(signed_in, SignedIn) and signed_in.user.username == "hpx.watch"
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == "hpx.watch"))
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "user")
                .order_by(AuditEntry.seq.desc())
                .limit(6)
            )
        )
    assert user is not None and user.locked_until is None
    assert actions[:3] == ["login.unthrottled", "login", "login.throttled"]
    assert actions.count("login.failed") == 3


async def test_a_legacy_lock_answers_like_a_wrong_password(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    async with db.transaction() as session:
        user = await session.scalar(select(User).where(User.username == "hpx.watch"))
        assert user is not None
        user.locked_until = utcnow() + timedelta(minutes=10)
    outcome = await accounts.sign_in(db, "hpx.watch", DEMO_PASSWORD)
    assert isinstance(outcome, LoginFailedError) and str(outcome) == "wrong username or password"


async def test_unknown_user_fails_like_a_wrong_password(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    outcome = await accounts.sign_in(db, "nobody", "whatever-123")
    assert isinstance(outcome, LoginFailedError) and str(outcome) == "wrong username or password"


async def test_township_admin_cannot_create_users_in_another_township(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    admin = Principal("user", 4, "hpx.admin", "431226203000", Role.ADMIN)
    async with db.transaction() as session:
        with pytest.raises(PermissionDeniedError):
            await accounts.create_user(
                session,
                admin,
                username="gc.new",
                password="good-pass-123",
                unit_code="431226100201",
                role="operator",
            )
        user = await accounts.create_user(
            session,
            admin,
            username="hpxc.new",
            password="good-pass-123",
            unit_code="431226203201",
            role="operator",
        )
    assert user.unit_code == "431226203201"


async def test_tokens_one_per_machine_and_revocable(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    async with db.transaction() as session:
        new = await accounts.create_token(
            session, SYSTEM, name="nvr-hpx-1", unit_code="431226203000", role=Role.OPERATOR
        )
        with pytest.raises(ConflictError, match="one machine, one account"):
            await accounts.create_token(
                session, SYSTEM, name="nvr-hpx-1", unit_code="431226203000", role=Role.OPERATOR
            )
    async with db.transaction() as session:
        principal = await accounts.resolve_token(session, new.secret)
        assert principal.kind == "machine" and principal.actor == "token:nvr-hpx-1"
        stored = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "token.create")
        )
        assert stored is not None and new.secret not in stored  # never in the audit log
        await accounts.revoke_token(session, SYSTEM, new.token.id)
    async with db.transaction() as session:
        with pytest.raises(AuthenticationError, match="revoked"):
            await accounts.resolve_token(session, new.secret)


async def test_session_activity_is_recorded_before_the_idle_timeout(db: Database) -> None:
    """A session in use never idles out: its activity is written once a tenth of the idle
    timeout has passed (and not on every request)."""
    accounts = Accounts(SecuritySettings(session_idle_minutes=1))
    async with db.transaction() as session:
        user = await session.scalar(select(User).where(User.username == "hpx.mediator"))
        assert user is not None
        secret, row = await accounts.open_session(session, user)
    async with db.read() as session:
        assert isinstance(await accounts.resolve_session(session, secret), tuple)  # fresh
    async with db.transaction() as session:  # seven seconds later: 7 s > 60 s / 10
        stored = await session.get(WebSession, row.id_hash)
        assert stored is not None
        stored.last_seen_at = utcnow() - timedelta(seconds=7)
    async with db.read() as session:
        change = await accounts.resolve_session(session, secret)
    assert isinstance(change, SessionChange) and not change.expired
    async with db.transaction() as session:
        resolved = await accounts.apply_session_change(session, secret, change)
    assert resolved is not None and resolved[2].username == "hpx.mediator"
    async with db.read() as session:
        assert isinstance(await accounts.resolve_session(session, secret), tuple)
    async with db.transaction() as session:  # now idle past the timeout: removed
        stored = await session.get(WebSession, row.id_hash)
        assert stored is not None
        stored.last_seen_at = utcnow() - timedelta(minutes=2)
    async with db.read() as session:
        change = await accounts.resolve_session(session, secret)
    assert isinstance(change, SessionChange) and change.expired
    async with db.transaction() as session:
        assert await accounts.apply_session_change(session, secret, change) is None
    async with db.read() as session:
        assert await session.get(WebSession, row.id_hash) is None
