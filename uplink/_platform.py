"""PlatformLink: the gateway's registration with one upper platform, kept alive.

One task per enabled platform (gb28181.md §2, §3):

1. REGISTER → 401 → REGISTER with MD5 digest (qop=auth with nc/cnonce, or the plain
   form; ``opaque`` echoed) → 200.  ``Expires`` is always sent (wvp answers 400 without).
2. Registered: a keepalive MESSAGE every ``keepalive_interval``; a refresh REGISTER on
   the same Call-ID and From tag (CSeq + 1) at 60 % of the granted expiry.
3. Register again from scratch (new Call-ID) after a 401/403/404 to a keepalive (the
   platform forgot us: it restarted), after ``keepalive_misses`` unanswered keepalives,
   or when the TCP connection drops.
4. A failed attempt waits with exponential back-off and jitter (a wrong password waits
   at least a minute: platforms lock an account out after a few wrong ones) and tries
   again for as long as the platform is enabled — so it re-registers when the platform
   comes back.
5. :meth:`close` unregisters (``Expires: 0``, challenged like any REGISTER) with a short
   time limit, so shutdown never stalls on a dead platform.

:meth:`request` is the seam for everything the gateway itself sends to the platform
inside this registration — query answers, catalog NOTIFYs, and gateway-initiated INVITEs
(broadcast audio): it fills Via, From, To, Call-ID, CSeq and Contact the way the
platform expects (From user = the registered device ID) and runs the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from media import (
    DigestAuthenticator,
    NameAddr,
    SipRequest,
    SipResponse,
    Via,
    keepalive_notify,
    new_call_id,
    new_tag,
    parse_name_addr,
    parse_sip_uri,
    parse_www_authenticate,
)

from ._config import PlatformConfig
from ._errors import RegistrationError
from ._transport import Peer, SipEndpoint, SipTimeoutError, SipTransportError

__all__ = ["MANSCDP_TYPE", "LinkTiming", "PlatformLink"]

log = logging.getLogger("uplink.platform")

MANSCDP_TYPE = "Application/MANSCDP+xml"
USER_AGENT = "zongzhi-gateway"
_GB_VERSION = {"2016": "2.0", "2022": "3.0"}


@dataclass(frozen=True, slots=True)
class LinkTiming:
    """Back-off and refresh rules (tests shrink them)."""

    retry_base: float = 5.0
    retry_max: float = 120.0
    wrong_password_retry: float = 60.0
    refresh_at: float = 0.6  # of the granted expiry
    min_refresh: float = 5.0  # never refresh sooner than this (a platform granting 1 s)
    unregister_timeout: float = 2.0
    jitter: float = 0.25  # ± fraction of each back-off

    def backoff(self, failures: int, code: str) -> float:
        base = min(self.retry_max, self.retry_base * 2.0 ** max(0, failures - 1))
        if code == "wrong_password":
            base = max(base, self.wrong_password_retry)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class PlatformLink:
    def __init__(
        self,
        config: PlatformConfig,
        endpoint: SipEndpoint,
        device_id: str,
        *,
        advertise_host: str = "",
        timing: LinkTiming | None = None,
        on_state: Callable[[PlatformLink], None] | None = None,
    ) -> None:
        self.config = config
        self.endpoint = endpoint
        self.device_id = device_id
        self.peer = Peer(config.transport.upper(), config.host, config.port)
        self.timing = timing or LinkTiming()
        self._advertise = advertise_host
        self._on_state = on_state
        self.state = "registering" if config.enabled else "disabled"
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.registered_since: str | None = None
        self.last_keepalive_ok: str | None = None
        self.keepalive_misses = 0
        self.failures = 0
        self.registrations = 0  # successful REGISTER exchanges (first and refreshes)
        self._auth = DigestAuthenticator(config.account(device_id), config.password)
        self._call_id = new_call_id()
        self._from_tag = new_tag()
        self._cseq = itertools.count(1)
        self._message_cseq = itertools.count(1)
        self._sn = itertools.count(random.randint(1, 9999))
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._next_keepalive: float | None = None
        self._lost: str | None = None  # why the registration is gone (set from outside)
        self._closed = False

    # ------------------------------------------------------------------ public
    @property
    def registered(self) -> bool:
        return self.state == "registered"

    def next_sn(self) -> int:
        return next(self._sn)

    def start(self) -> None:
        if self._task is None and self.config.enabled:
            self._task = asyncio.ensure_future(self._run())

    def connection_lost(self) -> None:
        """The TCP connection the registration rode on dropped: register again."""
        if self.registered:
            self._lose(
                "disconnected", "the TCP connection to the platform dropped; registering again"
            )

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "last_error": self.last_error,
            "last_error_code": self.last_error_code,
            "registered_since": self.registered_since,
            "last_keepalive_ok": self.last_keepalive_ok,
        }

    async def close(self, *, unregister: bool = True) -> None:
        """Stop the task; unregister (Expires: 0) if registered, within a short limit."""
        if self._closed:
            return
        self._closed = True
        was_registered = self.registered
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if unregister and was_registered:
            with contextlib.suppress(SipTransportError, RegistrationError, TimeoutError):
                await asyncio.wait_for(
                    self._register(expires=0, fresh=False), self.timing.unregister_timeout
                )
                log.info("unregistered from platform %s", self.config.name)
        self.state = "disabled"

    # ---------------------------------------------------------------- requests
    def _local(self) -> tuple[str, int]:
        host = self._advertise or self.endpoint.local_host_for(self.peer)
        return host, self.endpoint.local_port_for(self.peer)

    def local_host(self) -> str:
        """The address this platform reaches the gateway at (Via, Contact, SDP ``c=``)."""
        return self._local()[0]

    @property
    def server_uri(self) -> str:
        return f"sip:{self.config.server_id}@{self.config.host}:{self.config.port}"

    def contact(self) -> str:
        host, port = self._local()
        return f"<sip:{self.device_id}@{host}:{port}>"

    def build_request(
        self,
        method: str,
        *,
        uri: str | None = None,
        to_user: str | None = None,
        call_id: str | None = None,
        from_tag: str | None = None,
        to_tag: str | None = None,
        cseq: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        from_header: str | None = None,
        to_header: str | None = None,
    ) -> SipRequest:
        """A request from the gateway to this platform (or to ``to_user`` at it).

        Inside a dialog the platform opened (a BYE of a live view, a NOTIFY), pass the
        dialog's own ``from_header`` (the INVITE's To, with our tag) and ``to_header``
        (its From) and ``uri`` (its Contact)."""
        host, port = self._local()
        domain = self.config.domain
        target = to_user or self.config.server_id
        to = NameAddr(parse_sip_uri(f"sip:{target}@{domain}"))
        if to_tag:
            to = to.with_tag(to_tag)
        all_headers: list[tuple[str, str]] = [
            ("Via", Via.create(self.peer.transport, host, port).encode()),
            ("From", from_header or f"<sip:{self.device_id}@{domain}>;tag={from_tag or new_tag()}"),
            ("To", to_header or to.encode()),
            ("Call-ID", call_id or new_call_id(host)),
            ("CSeq", f"{cseq if cseq is not None else next(self._message_cseq)} {method}"),
            ("Contact", self.contact()),
            ("Max-Forwards", "70"),
            ("User-Agent", USER_AGENT),
            *headers,
        ]
        if content_type:
            all_headers.append(("Content-Type", content_type))
        request_uri = uri or f"sip:{target}@{self.config.host}:{self.config.port}"
        return SipRequest(method, request_uri, tuple(all_headers), body)

    async def request(self, request: SipRequest, *, time_limit: float | None = None) -> SipResponse:
        """Run a client transaction with the platform; raises SipTransportError."""
        return await self.endpoint.request(request, self.peer, time_limit=time_limit)

    async def send_manscdp(self, body: bytes, *, method: str = "MESSAGE") -> SipResponse:
        """A MANSCDP MESSAGE (query answer, notify) to the platform."""
        return await self.request(self.build_request(method, body=body, content_type=MANSCDP_TYPE))

    # ------------------------------------------------------------ registration
    async def _register(self, *, expires: int, fresh: bool) -> int:
        """One REGISTER exchange (with the digest round trip); the granted expiry."""
        if fresh:
            self._call_id, self._from_tag = new_call_id(), new_tag()
        answered_challenge = False
        while True:
            headers = [("Expires", str(expires)), ("X-GB-Ver", _GB_VERSION[self.config.version])]
            authorization = self._auth.authorization("REGISTER", self.server_uri)
            if authorization is not None:
                headers.append(("Authorization", authorization))
            request = self.build_request(
                "REGISTER",
                uri=self.server_uri,
                to_user=self.device_id,
                call_id=self._call_id,
                from_tag=self._from_tag,
                cseq=next(self._cseq),
                headers=headers,
            )
            try:
                response = await self.request(request)
            except SipTimeoutError:
                raise RegistrationError(
                    f"no answer from {self.config.host}:{self.config.port} over "
                    f"{self.peer.transport}: check the platform's address, port, transport "
                    "and the firewall",
                    code="no_answer",
                ) from None
            except SipTransportError as exc:
                raise RegistrationError(
                    f"cannot reach the platform: {exc}", code="connection_refused"
                ) from None
            if response.status == 401 or response.status == 407:
                stale = any(
                    c.params.get("stale", "").lower() == "true"
                    for c in parse_www_authenticate(response.header_all("WWW-Authenticate"))
                )
                if answered_challenge and not stale:
                    raise RegistrationError(
                        "the platform rejected the password (401 after the digest answer): "
                        "check the username and password set for this platform",
                        code="wrong_password",
                    )
                header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
                if not self._auth.accept(parse_www_authenticate(response.header_all(header))):
                    raise RegistrationError(
                        "the platform asks for an authentication the gateway cannot do "
                        f"({response.header(header)!r})",
                        code="refused",
                    )
                answered_challenge = True
                continue
            if response.ok:
                return _granted(response, expires)
            if response.status == 403:
                raise RegistrationError(
                    "the platform refused the registration (403 Forbidden): wrong password, "
                    "or this device ID is not allowed on it",
                    code="wrong_password",
                )
            if response.status == 404:
                raise RegistrationError(
                    f"the platform does not know device {self.device_id} (404): add it "
                    "there, or check the server ID",
                    code="not_found",
                )
            raise RegistrationError(
                f"the platform refused the registration: {response.status} {response.reason}",
                code="refused",
            )

    def _set(self, state: str, *, code: str | None = None, error: str | None = None) -> None:
        changed = (state, code, error) != (self.state, self.last_error_code, self.last_error)
        self.state = state
        if state == "registered":
            self.last_error = self.last_error_code = None
        elif error is not None:
            self.last_error, self.last_error_code = error, code
        if changed and self._on_state is not None:
            self._on_state(self)

    def _lose(self, code: str, error: str) -> None:
        self._lost = f"{code}\n{error}"
        self._wake.set()

    async def _run(self) -> None:
        fresh = True
        while not self._closed:
            try:
                granted = await self._register(expires=self.config.expires, fresh=fresh)
            except RegistrationError as exc:
                self.failures += 1
                delay = self.timing.backoff(self.failures, exc.code)
                log.warning(
                    "registration with platform %s failed (%s), retrying in %.0f s",
                    self.config.name,
                    exc,
                    delay,
                )
                self.registered_since = None
                self._set("failed", code=exc.code, error=str(exc))
                fresh = True
                await asyncio.sleep(delay)
                continue
            self.failures = 0
            self.registrations += 1
            if not self.registered:
                self.registered_since = _now()
                self.keepalive_misses = 0
                log.info("registered with platform %s (expires %s s)", self.config.name, granted)
            self._set("registered")
            fresh = not await self._stay_registered(granted)

    async def _stay_registered(self, granted: int) -> bool:
        """Keepalives until the refresh is due (True) or the registration is lost (False)."""
        refresh_at = time.monotonic() + max(
            self.timing.min_refresh, granted * self.timing.refresh_at
        )
        if self._next_keepalive is None:  # kept across refreshes
            self._next_keepalive = time.monotonic() + self.config.keepalive_interval
        self._lost = None
        self._wake.clear()
        while True:
            now = time.monotonic()
            next_keepalive = self._next_keepalive
            wait = min(refresh_at, next_keepalive) - now
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            if self._lost is not None:
                code, error = self._lost.split("\n", 1)
                self.registered_since = self._next_keepalive = None
                self._set("registering", code=code, error=error)
                return False
            now = time.monotonic()
            if now >= refresh_at:
                return True
            if now >= next_keepalive:
                self._next_keepalive = now + self.config.keepalive_interval
                if not await self._keepalive():
                    self.registered_since = self._next_keepalive = None
                    return False

    async def _keepalive(self) -> bool:
        body = keepalive_notify(self.next_sn(), self.device_id, self.config.charset)
        try:
            response = await self.send_manscdp(body)
        except SipTransportError:
            self.keepalive_misses += 1
            log.info(
                "keepalive to platform %s unanswered (%s of %s)",
                self.config.name,
                self.keepalive_misses,
                self.config.keepalive_misses,
            )
            if self.keepalive_misses >= self.config.keepalive_misses:
                self._set(
                    "registering",
                    code="keepalive_lost",
                    error=f"the platform stopped answering keepalives ({self.keepalive_misses} "
                    "missed); registering again",
                )
                return False
            return True
        if response.status in (401, 403, 404):
            self._set(
                "registering",
                code="unregistered_by_platform",
                error=f"the platform no longer knows the gateway ({response.status} to a "
                "keepalive: it restarted or expired the registration); registering again",
            )
            return False
        self.keepalive_misses = 0
        self.last_keepalive_ok = _now()
        if self._on_state is not None:
            self._on_state(self)
        return True


def _granted(response: SipResponse, asked: int) -> int:
    value = response.header("Expires")
    if value and value.strip().isdigit():
        return int(value.strip())
    for contact in response.header_all("Contact"):
        with contextlib.suppress(ValueError):
            expires = parse_name_addr(contact).param("expires")
            if expires and expires.isdigit():
                return int(expires)
    return asked
