"""Sign-in throttling: growing delays per client address and per account, no lockout.

Pure core (no asyncio, no database).  The pattern of fail2ban and django-axes, without
their weakness for a login page that strangers can reach: a lockout that anyone can
trigger by typing wrong passwords is a denial of service against the real user.  So:

- every failed sign-in counts against the client address and against the account name
  (existing or not: an unknown name is throttled exactly like a real one, so throttling
  reveals nothing about which accounts exist);
- the first ``free`` failures cost nothing; after them each further attempt must wait
  ``base * 2**(n - free)`` seconds after the last failure, capped at ``max_delay``;
- attempts refused for waiting are not failures: they do not lengthen the wait;
- a **trusted device** (a browser where this account signed in before; see
  :meth:`core.Accounts.device_token`) is exempt from the account's throttle, so a
  stranger hammering an account never keeps its owner out of their usual browser; the
  address throttle still applies to it;
- counters are forgotten ``window`` seconds after the last failure, and when the account
  (or the address) signs in successfully;
- at most ``capacity`` names and addresses are kept (least recently failed dropped).

Limits are per process: with ``serve --workers N`` an attacker gets N times the attempts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["SignInThrottle", "ThrottleState"]


@dataclass(slots=True)
class ThrottleState:
    failures: int
    last: float  # monotonic time of the last failure


class SignInThrottle:
    """Failure counters per ``("address", …)`` and ``("account", …)`` key."""

    def __init__(
        self,
        *,
        account_free: int = 5,
        address_free: int = 10,
        base_delay: float = 1.0,
        account_max_delay: float = 60.0,
        address_max_delay: float = 300.0,
        window: float = 15 * 60.0,
        capacity: int = 10_000,
    ) -> None:
        self.account_free = account_free
        self.address_free = address_free
        self.base_delay = base_delay
        self.account_max_delay = account_max_delay
        self.address_max_delay = address_max_delay
        self.window = window
        self.capacity = capacity
        self._states: OrderedDict[tuple[str, str], ThrottleState] = OrderedDict()

    def _state(self, key: tuple[str, str], now: float) -> ThrottleState | None:
        state = self._states.get(key)
        if state is not None and now - state.last > self.window:
            del self._states[key]
            return None
        return state

    def _delay(self, state: ThrottleState | None, free: int, cap: float) -> float:
        if state is None or state.failures < free:
            return 0.0
        return float(min(cap, self.base_delay * 2 ** min(state.failures - free, 30)))

    def wait(self, address: str, account: str, now: float, *, trusted: bool = False) -> float:
        """Seconds the caller must still wait before this attempt is checked (0: go)."""
        waits = [0.0]
        state = self._state(("address", address), now)
        if state is not None:
            waits.append(
                state.last + self._delay(state, self.address_free, self.address_max_delay) - now
            )
        if not trusted:
            state = self._state(("account", account), now)
            if state is not None:
                waits.append(
                    state.last + self._delay(state, self.account_free, self.account_max_delay) - now
                )
        return max(waits)

    def failure(self, address: str, account: str, now: float) -> bool:
        """Count a failed sign-in; True when the account just started being throttled."""
        started = False
        for key, free in ((("address", address), 0), (("account", account), self.account_free)):
            state = self._state(key, now)
            if state is None:
                state = self._states[key] = ThrottleState(0, now)
            state.failures += 1
            state.last = now
            self._states.move_to_end(key)
            if key[0] == "account" and state.failures == free:
                started = True
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)
        return started

    def success(self, address: str, account: str) -> bool:
        """Forget the account's and the address's failures; True if the account was throttled."""
        state = self._states.pop(("account", account), None)
        self._states.pop(("address", address), None)
        return state is not None and state.failures >= self.account_free

    def failures(self, account: str, now: float) -> int:
        state = self._state(("account", account), now)
        return state.failures if state is not None else 0
