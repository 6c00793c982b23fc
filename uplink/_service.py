"""UplinkService: the gateway's side of every upper platform, as the process runs it.

Owns the SIP endpoint (UDP + TCP on ``[uplink] sip_host:sip_port``), one
:class:`PlatformLink` per enabled platform, and the routers that the queries, live view,
playback and broadcast plug into (:mod:`uplink._dispatch`).  Platform changes made
through the API reach it through :meth:`PlatformStore.on_change`: a change of address,
account or timing re-registers; a change of name, charset or cameras does not.

A request from a platform is recognised by its From user (the platform's server ID) and,
when several platforms share a server ID (wvp's default ``34020000002000000001``), by
its source address.  Unknown senders get 403.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from core import Database, UplinkSettings
from media import (
    ManscdpError,
    SipFormatError,
    SipRequest,
    parse_manscdp,
    parse_sdp,
    response_to,
)

from ._channels import ChannelSource
from ._config import PlatformConfig, derive_device_id
from ._dispatch import DialogTable, IncomingCall, InviteRouter, QueryRouter
from ._live import LiveCalls, RemoteMedia
from ._platform import LinkTiming, PlatformLink
from ._platforms import PlatformStore, root_unit_code
from ._queries import PlatformQueries
from ._subscriptions import CatalogSubscriptions
from ._transactions import Timers
from ._transport import Peer, SipEndpoint

__all__ = ["CallSet", "UplinkService"]


class _Status(Protocol):
    def status(self) -> dict[str, Any]: ...


class CallSet(Protocol):
    """A kind of platform session the service lists and closes (:meth:`attach`)."""

    def sessions(self, platform_id: int | None = None) -> Sequence[_Status]: ...

    async def close(self) -> None: ...


log = logging.getLogger("uplink")

#: Fields whose change needs a new registration.
_REGISTRATION_FIELDS = (
    "server_id", "domain", "host", "port", "transport", "username", "password", "expires",
    "keepalive_interval", "keepalive_misses", "version", "enabled",
)  # fmt: skip
_ALLOW = "INVITE, ACK, BYE, CANCEL, MESSAGE, INFO, SUBSCRIBE, NOTIFY, OPTIONS"
_MANSCDP_ROOTS = ("Query", "Control", "Notify", "Response")


class UplinkService:
    def __init__(
        self,
        db: Database,
        store: PlatformStore,
        settings: UplinkSettings,
        *,
        timers: Timers | None = None,
        timing: LinkTiming | None = None,
        channels: ChannelSource | None = None,
        subscription_poll: float = 2.0,
        remote: RemoteMedia | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self.timers = timers or Timers()
        self.timing = timing or LinkTiming()
        self.queries = QueryRouter()
        self.invites = InviteRouter()
        self.dialogs = DialogTable()
        self._inviting: dict[str, IncomingCall] = {}  # INVITEs not answered yet
        self.links: dict[int, PlatformLink] = {}
        #: The cameras platforms see (None: no camera side, as in SIP-only tests).
        self.channels = channels
        self.subscriptions: CatalogSubscriptions | None = None
        self.live: LiveCalls | None = None
        self._calls: list[CallSet] = []
        if channels is not None:
            self.live = LiveCalls(
                self.dialogs, channels, channels.manager, bind_host=settings.sip_host,
                timers=self.timers, remote=remote,
            )  # fmt: skip
            self.live.register_on(self.invites)
            PlatformQueries(channels).register_on(self.queries)
            self.subscriptions = CatalogSubscriptions(channels, poll=subscription_poll)
            self.subscriptions.register_on(self.queries)
        self.endpoint: SipEndpoint | None = None
        self._device_id: str | None = None
        self._publishing: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changes = asyncio.Lock()
        self._started = False
        #: Why the SIP endpoint is not running (its port taken …); the pages show it.
        self.bind_error: str | None = None
        store.on_change(self._platform_changed)

    # ------------------------------------------------------------------ identity
    @property
    def device_id(self) -> str:
        if self._device_id is None:
            raise RuntimeError("the uplink has not started: its device ID is not known yet")
        return self._device_id

    async def resolve_device_id(self) -> str:
        if self._device_id is None:
            self._device_id = derive_device_id(
                await root_unit_code(self.db), self.settings.device_id
            )
        return self._device_id

    @property
    def running(self) -> bool:
        """Whether this process runs the SIP endpoint now (see :mod:`uplink._leader`)."""
        return self._started

    @property
    def sip_address(self) -> tuple[str, int]:
        """Where the SIP endpoint listens: the bound port once started (setting 0 = any)."""
        port = self.endpoint.port if self.endpoint is not None else self.settings.sip_port
        return self.settings.sip_host, port

    def status(self, platform_id: int) -> dict[str, Any] | None:
        """This process's live view of a platform's registration; None when not run here."""
        if self.bind_error is not None:
            return {
                "state": "failed",
                "last_error": self.bind_error,
                "last_error_code": "sip_port_unavailable",
                "registered_since": None,
                "last_keepalive_ok": None,
                "sessions": [],
            }
        if not self._started:
            return None
        link = self.links.get(platform_id)
        if link is None:
            return {
                "state": "disabled",
                "last_error": None,
                "last_error_code": None,
                "registered_since": None,
                "last_keepalive_ok": None,
                "sessions": [],
            }
        return {**link.status(), "sessions": self.sessions(platform_id)}

    def sessions(self, platform_id: int) -> list[dict[str, Any]]:
        """Who watches which camera from this platform now (live, playback, broadcast)."""
        found = [] if self.live is None else [s.status() for s in self.live.sessions(platform_id)]
        for calls in self._calls:
            found += [s.status() for s in calls.sessions(platform_id)]
        return found

    def attach(self, calls: CallSet) -> None:
        """More session kinds (playback, broadcast): listed with the platform's sessions
        and closed (BYE) before the platforms are unregistered."""
        self._calls.append(calls)

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Bind the SIP endpoint and register to every enabled platform.

        A SIP port that cannot be bound does not stop the gateway (the web side and the
        cameras still work): every platform then shows the reason as its last error.
        """
        await self.resolve_device_id()
        endpoint = SipEndpoint(
            self.settings.sip_host,
            self.settings.sip_port,
            self._on_request,
            timers=self.timers,
            on_disconnect=self._disconnected,
        )
        try:
            await endpoint.start()
        except OSError as exc:
            self.bind_error = (
                f"the SIP port {self.settings.sip_host}:{self.settings.sip_port} cannot be "
                f"opened ({exc.strerror or exc}); set [uplink] sip_port to a free port"
            )
            log.error("uplink not started: %s", self.bind_error)
            return
        self.endpoint = endpoint
        self._started = True
        for config in await self.store.load_all():
            self._add_link(config)

    async def close(self) -> None:
        """Unregister from every platform (each within a short limit), then unbind.
        Idempotent; :meth:`start` may run again afterwards (a new leader)."""
        self._started = False
        if self.live is not None:
            await self.live.close()  # BYE to every platform watching
        for calls in self._calls:
            await calls.close()
        if self.subscriptions is not None:
            await self.subscriptions.close()
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.endpoint is not None:
            await self.endpoint.close()
            self.endpoint = None
        self.bind_error = None

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _add_link(self, config: PlatformConfig) -> None:
        assert self.endpoint is not None
        link = PlatformLink(
            config,
            self.endpoint,
            self.device_id,
            advertise_host=self.settings.advertise_host,
            timing=self.timing,
            on_state=self._state_changed,
        )
        self.links[config.id] = link
        link.start()
        self._state_changed(link)

    async def _platform_changed(self, platform_id: int) -> None:
        if not self._started:
            return
        async with self._changes:
            config = await self.store.load(platform_id)
            link = self.links.get(platform_id)
            if link is not None and config is not None:
                old = link.config
                if all(getattr(old, f) == getattr(config, f) for f in _REGISTRATION_FIELDS):
                    link.config = config  # name, charset, cameras: no new registration
                    return
            if link is not None:
                del self.links[platform_id]
                await link.close()
            if config is not None:
                self._add_link(config)

    async def reconcile(self) -> None:
        """Follow platform changes made in other gateway processes (their API calls reach
        only their own store's listeners): compare the rows with the running links."""
        if not self._started:
            return
        configs = {c.id: c for c in await self.store.load_all()}
        changed = [pid for pid in self.links if pid not in configs]
        changed += [
            pid
            for pid, config in configs.items()
            if pid not in self.links or self.links[pid].config != config
        ]
        for platform_id in changed:
            await self._platform_changed(platform_id)

    def _disconnected(self, peer: Peer) -> None:
        for link in self.links.values():
            if link.peer == peer:
                link.connection_lost()

    # ----------------------------------------------------------------- published
    def _state_changed(self, link: PlatformLink) -> None:
        platform_id = link.config.id
        if platform_id in self._publishing:
            return
        self._publishing.add(platform_id)
        self._spawn(self._publish(platform_id))

    async def _publish(self, platform_id: int) -> None:
        try:
            await asyncio.sleep(0)  # coalesce changes made in the same turn
            link = self.links.get(platform_id)
            if link is None:
                return
            self._publishing.discard(platform_id)
            state = self.status(platform_id) or link.status()
            await self.store.publish_state(platform_id, state)
        except Exception:  # the database being away must not stop the SIP side
            log.warning("could not publish the state of platform %s", platform_id, exc_info=True)
        finally:
            self._publishing.discard(platform_id)

    # ------------------------------------------------------------------ requests
    def link_for(self, request: SipRequest, peer: Peer) -> PlatformLink | None:
        user = request.from_addr.uri.user
        candidates = [link for link in self.links.values() if link.config.server_id == user]
        for link in candidates:
            if link.config.host == peer.host:
                return link
        return candidates[0] if len(candidates) == 1 else None

    async def _on_request(self, request: SipRequest, peer: Peer) -> None:
        assert self.endpoint is not None
        endpoint = self.endpoint
        method = request.method.upper()
        call_id = request.call_id
        dialog = self.dialogs.get(call_id)
        in_dialog = method in ("ACK", "BYE", "INFO", "CANCEL") or (
            method in ("MESSAGE", "NOTIFY") and request.to_addr.tag
        )
        if dialog is not None and in_dialog:
            answer = await dialog.on_request(request, peer)
            if answer is not None:
                await endpoint.respond(request, answer, peer)
            return
        if method == "ACK":
            return  # for a dialog already gone: nothing to answer
        if method == "OPTIONS":
            await endpoint.respond(
                request, response_to(request, 200, headers=[("Allow", _ALLOW)]), peer
            )
            return
        link = self.link_for(request, peer)
        if link is None:
            log.info("refused %s from an unknown platform %s at %s:%s", method,
                     request.from_addr.uri.user, *peer.address)  # fmt: skip
            await endpoint.respond(request, response_to(request, 403, "Unknown Platform"), peer)
            return
        if method in ("MESSAGE", "SUBSCRIBE", "NOTIFY"):
            await self._on_manscdp(link, request, peer)
        elif method == "INVITE":
            await self._on_invite(link, request, peer)
        elif method == "CANCEL" and call_id in self._inviting:
            self._inviting[call_id].cancelled = True  # its handler answers 487
            await endpoint.respond(request, response_to(request, 200), peer)
        elif method in ("BYE", "CANCEL", "INFO"):
            await endpoint.respond(request, response_to(request, 481), peer)
        else:
            await endpoint.respond(
                request, response_to(request, 405, headers=[("Allow", _ALLOW)]), peer
            )

    async def _on_manscdp(self, link: PlatformLink, request: SipRequest, peer: Peer) -> None:
        assert self.endpoint is not None
        try:
            body = parse_manscdp(request.body, link.config.charset)
        except ManscdpError as exc:
            log.info("unparseable MANSCDP from platform %s: %s", link.config.name, exc)
            await self.endpoint.respond(
                request, response_to(request, 400, "Bad MANSCDP Body"), peer
            )
            return
        if body.root not in _MANSCDP_ROOTS:
            await self.endpoint.respond(request, response_to(request, 415), peer)
            return
        handler = self.queries.handler(body.cmd_type)
        if request.method.upper() == "SUBSCRIBE":
            subscribe = self.queries.subscribe_handler(body.cmd_type)
            if subscribe is None:
                await self.endpoint.respond(request, response_to(request, 489, "Bad Event"), peer)
                return
            await subscribe(link, body, request, peer)  # answers the SUBSCRIBE itself
            return
        await self.endpoint.respond(request, response_to(request, 200), peer)
        if handler is None:
            log.info("no handler for MANSCDP %s %s from platform %s",
                     body.root, body.cmd_type, link.config.name)  # fmt: skip
            return
        await handler(link, body, request)

    async def _on_invite(self, link: PlatformLink, request: SipRequest, peer: Peer) -> None:
        assert self.endpoint is not None
        try:
            sdp = parse_sdp(request.body)
            session_name = sdp.session_name.strip()
        except (ValueError, SipFormatError):
            await self.endpoint.respond(request, response_to(request, 400, "Bad SDP"), peer)
            return
        await self.endpoint.respond(request, response_to(request, 100), peer)
        handler = self.invites.handler(session_name)
        if handler is None:
            await self.endpoint.respond(
                request,
                response_to(request, 488, f"Session {session_name[:20]} Not Supported"),
                peer,
            )
            return
        call = IncomingCall(link, request, peer, self.endpoint, session_name)
        self._inviting[request.call_id] = call  # a CANCEL before the answer finds it
        try:
            await handler(call)
        finally:
            self._inviting.pop(request.call_id, None)
