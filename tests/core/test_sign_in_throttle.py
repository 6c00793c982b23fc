"""Sign-in throttling: a stranger cannot keep the real user out, and no answer tells
which accounts exist — not by its words, not by its time."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core import (
    Accounts,
    Database,
    LoginFailedError,
    SecuritySettings,
    SignedIn,
    SignInThrottledError,
    User,
    utcnow,
)
from core._throttle import SignInThrottle
from gateway._demo import DEMO_PASSWORD

STRANGER = "203.0.113.66"
OWNER_OFFICE = "198.51.100.20"


@pytest.mark.slow
async def test_a_stranger_cannot_keep_the_real_user_out(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    clock = [0.0]
    accounts.clock = lambda: clock[0]
    # the owner signed in on their browser before: it holds the trusted-device cookie
    first = await accounts.sign_in(db, "hpx.watch", DEMO_PASSWORD, remote=OWNER_OFFICE)
    assert isinstance(first, SignedIn)
    device = accounts.device_token("hpx.watch")
    # a stranger tries passwords as fast as the throttle lets him, for an hour
    refused = failed = 0
    for _ in range(40):
        outcome = await accounts.sign_in(db, "hpx.watch", "guess-123456", remote=STRANGER)
        if isinstance(outcome, SignInThrottledError):
            refused += 1
            clock[0] += outcome.retry_after  # he waits exactly as long as told, and retries
        else:
            assert isinstance(outcome, LoginFailedError)
            failed += 1
        clock[0] += 0.01
    assert failed >= 10 and refused >= 10
    assert clock[0] < 3600  # the delays stay short: nobody is locked out for long
    # ... and at any moment of it the owner signs in from their own browser at once
    outcome = await accounts.sign_in(
        db, "hpx.watch", DEMO_PASSWORD, remote=OWNER_OFFICE, device=device
    )
    assert isinstance(outcome, SignedIn)
    # from a new browser the owner waits at most the account's cap, then gets in
    attack = await accounts.sign_in(db, "hpx.watch", "guess-999999", remote=STRANGER)
    new_browser = await accounts.sign_in(db, "hpx.watch", DEMO_PASSWORD, remote="192.0.2.44")
    if isinstance(new_browser, SignInThrottledError):
        assert new_browser.retry_after <= accounts.throttle.account_max_delay
        clock[0] += new_browser.retry_after
        new_browser = await accounts.sign_in(db, "hpx.watch", DEMO_PASSWORD, remote="192.0.2.44")
    assert isinstance(new_browser, SignedIn), (attack, new_browser)
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == "hpx.watch"))
    assert user is not None and user.locked_until is None


async def test_unknown_wrong_and_locked_answer_alike_in_words_and_time(db: Database) -> None:
    accounts = Accounts(SecuritySettings())
    async with db.transaction() as session:
        locked = await session.scalar(select(User).where(User.username == "county.watch"))
        assert locked is not None
        locked.locked_until = utcnow() + timedelta(hours=1)  # as an older version locked it
    cases = {
        "unknown": "no.such.user",
        "wrong password": "hpx.watch",
        "locked": "county.watch",
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    answers: dict[str, set[tuple[str, str]]] = {name: set() for name in cases}
    for round_ in range(4):
        for label, username in cases.items():
            # a fresh address per attempt: this compares answers, not the throttle
            start = time.perf_counter()
            outcome = await accounts.sign_in(
                db, username, "not-the-password", remote=f"10.9.{round_}.{len(label)}"
            )
            times[label].append(time.perf_counter() - start)
            assert isinstance(outcome, LoginFailedError)
            answers[label].add((outcome.code, str(outcome)))
    assert len({frozenset(a) for a in answers.values()}) == 1, answers
    medians = {label: statistics.median(t) for label, t in times.items()}
    # each does one argon2 verification; the old locked answer took 9.5 ms against ~165
    assert max(medians.values()) < 3 * min(medians.values()), medians


async def test_throttled_names_are_throttled_whether_they_exist_or_not(db: Database) -> None:
    accounts = Accounts(SecuritySettings(lockout_threshold=2))
    accounts.clock = lambda: 50.0
    seen = {}
    for name in ("hpx.admin", "nobody.here"):
        for i in range(3):
            outcome = await accounts.sign_in(db, name, "wrong-pass-000", remote=f"10.1.{i}.1")
        assert isinstance(outcome, SignInThrottledError)
        seen[name] = (outcome.code, str(outcome))
    assert seen["hpx.admin"] == seen["nobody.here"]


async def test_the_api_answers_429_with_retry_after(client: TestClient) -> None:
    for _ in range(5):
        wrong = await client.post(
            "/api/session", json={"username": "hpx.chair", "password": "wrong-password"}
        )
        assert wrong.status == 401 and (await wrong.json())["error"] == "login_failed"
    slow = await client.post(
        "/api/session", json={"username": "hpx.chair", "password": DEMO_PASSWORD}
    )
    assert slow.status == 429
    assert (await slow.json())["error"] == "login_throttled"
    assert 1 <= int(slow.headers["Retry-After"]) <= 60
    # another account from the same address is not held up by it (below the address limit)
    other = await client.post(
        "/api/session", json={"username": "hpx.mediator", "password": DEMO_PASSWORD}
    )
    assert other.status == 200
    assert any(c.startswith("zz_device=hpx.mediator:") for c in other.headers.getall("Set-Cookie"))


@given(
    failures=st.lists(st.sampled_from(["a", "b", "c"]), max_size=60),
    gaps=st.lists(st.floats(0, 120), min_size=60, max_size=60),
)
def test_delays_are_bounded_and_success_clears(failures: list[str], gaps: list[float]) -> None:
    throttle = SignInThrottle(account_free=3, address_free=5, capacity=2)
    now = 0.0
    for account, gap in zip(failures, gaps, strict=False):
        now += gap
        wait = throttle.wait("addr", account, now)
        assert 0 <= wait <= max(throttle.account_max_delay, throttle.address_max_delay)
        assert throttle.wait("addr", account, now, trusted=True) <= throttle.address_max_delay
        if wait == 0:
            throttle.failure("addr", account, now)
        assert len(throttle._states) <= 2
    throttle.success("addr", "a")
    assert throttle.wait("addr", "a", now) == 0


async def test_changing_your_password_ends_your_other_sessions(client: TestClient) -> None:
    from tests.web.test_cases_api import login as switch_to

    other_browser = await client.post(
        "/api/session", json={"username": "hpx.mediator", "password": DEMO_PASSWORD}
    )
    other_cookie = other_browser.cookies["zz_session"].value
    client.session.cookie_jar.clear()
    csrf = await switch_to(client, "hpx.mediator")
    changed = await client.post(
        "/api/me/password",
        json={"current": DEMO_PASSWORD, "new": "river-bank-4821-new"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status == 200, await changed.text()
    assert (await client.get("/api/me")).status == 200  # this browser stays signed in
    client.session.cookie_jar.clear()
    gone = await client.get("/api/me", cookies={"zz_session": other_cookie})
    assert gone.status == 401  # the other one is signed out
