"""SUBSCRIBE to Catalog and the NOTIFYs that follow (gb28181.md §4.2 "Subscriptions").

A platform's ``SUBSCRIBE`` (``Event: Catalog``) is answered 200 with ``Expires`` and a
``<Response>…<Result>OK`` body; from then on, until it expires or is renewed with
``Expires: 0``, the gateway looks at the platform's channels every ``poll`` seconds and
sends, inside the subscription's dialog, a ``NOTIFY`` per change: ``ADD`` for a new
camera, ``DEL`` for one gone, ``ON``/``OFF`` when its health flips, ``UPDATE`` when its
name or room changed.  Polling the database (and the owners' published health) keeps this
right with several gateway processes, whichever runs the camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

from media import (
    CatalogItem,
    Manscdp,
    SipRequest,
    catalog_notify,
    new_tag,
    parse_name_addr,
    response_to,
    result_response,
)

from ._channels import ChannelSource
from ._dispatch import QueryRouter
from ._platform import MANSCDP_TYPE, PlatformLink
from ._queries import catalog_items, page_limits
from ._transport import Peer, SipTransportError

__all__ = ["CatalogSubscriptions"]

log = logging.getLogger("uplink.subscriptions")

MAX_EXPIRES = 3600


@dataclass(slots=True)
class _Subscription:
    link: PlatformLink
    call_id: str
    local_tag: str
    remote: str  # the subscriber's From (with its tag): our NOTIFYs' To
    target: str  # where NOTIFYs go: the subscriber's Contact
    event: str
    expires_at: float
    sn: int
    seen: dict[str, tuple[bool, str, str]] = field(default_factory=dict)
    cseq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class CatalogSubscriptions:
    def __init__(self, channels: ChannelSource, *, poll: float = 2.0) -> None:
        self.channels = channels
        self.poll = poll
        self._subscriptions: dict[str, _Subscription] = {}
        self._task: asyncio.Task[None] | None = None

    def register_on(self, router: QueryRouter) -> None:
        router.register_subscribe("Catalog", self.subscribe)

    def __len__(self) -> int:
        return len(self._subscriptions)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscriptions.clear()

    async def subscribe(
        self, link: PlatformLink, body: Manscdp, request: SipRequest, peer: Peer
    ) -> None:
        endpoint = link.endpoint
        expires_text = (request.header("Expires") or str(MAX_EXPIRES)).strip()
        expires = min(int(expires_text), MAX_EXPIRES) if expires_text.isdigit() else MAX_EXPIRES
        call_id = request.call_id
        existing = self._subscriptions.get(call_id)
        local_tag = existing.local_tag if existing else new_tag()
        event = request.header("Event") or "Catalog"
        answer = response_to(
            request,
            200,
            to_tag=request.to_addr.tag or local_tag,
            headers=[
                ("Expires", str(expires)),
                ("Event", event),
                ("Contact", link.contact()),
                ("Content-Type", MANSCDP_TYPE),
            ],
            body=result_response("Catalog", body.sn, link.device_id, link.config.charset),
        )
        await endpoint.respond(request, answer, peer)
        if expires == 0:
            self._subscriptions.pop(call_id, None)
            log.info("platform %s ended its catalog subscription", link.config.name)
            return
        contact = request.header("Contact")
        target = parse_name_addr(contact).uri.encode() if contact else link.server_uri
        subscription = existing or _Subscription(
            link=link,
            call_id=call_id,
            local_tag=request.to_addr.tag or local_tag,
            remote=request.header("From") or "",
            target=target,
            event=event,
            expires_at=0.0,
            sn=body.sn,
        )
        subscription.expires_at = time.monotonic() + expires
        if existing is None:
            channels = await self.channels.channels(link.config)
            subscription.seen = {c.gb_id: (c.online, c.name, c.room) for c in channels}
            self._subscriptions[call_id] = subscription
            log.info("platform %s subscribed to the catalog for %s s", link.config.name, expires)
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            now = time.monotonic()
            for call_id, subscription in list(self._subscriptions.items()):
                if subscription.expires_at < now or subscription.link.endpoint is None:
                    self._subscriptions.pop(call_id, None)
                    continue
                try:
                    await self._check(subscription)
                except Exception:
                    log.warning("catalog notify for %s failed", subscription.link.config.name,
                                exc_info=True)  # fmt: skip

    async def _check(self, subscription: _Subscription) -> None:
        link = subscription.link
        channels = await self.channels.channels(link.config)
        current = {c.gb_id: c for c in channels}
        changes: dict[str, list[str]] = {}
        for gb_id, channel in current.items():
            before = subscription.seen.get(gb_id)
            if before is None:
                changes.setdefault("ADD", []).append(gb_id)
            elif before[0] != channel.online:
                changes.setdefault("ON" if channel.online else "OFF", []).append(gb_id)
            elif before[1:] != (channel.name, channel.room):
                changes.setdefault("UPDATE", []).append(gb_id)
        gone = [gb_id for gb_id in subscription.seen if gb_id not in current]
        subscription.seen = {c.gb_id: (c.online, c.name, c.room) for c in channels}
        items = {i.device_id: i for i in catalog_items(link.device_id, channels)}
        for event, ids in changes.items():
            await self._notify(subscription, event, [items[i] for i in ids if i in items])
        if gone:
            await self._notify(subscription, "DEL", [CatalogItem(i, "") for i in gone])

    async def _notify(
        self, subscription: _Subscription, event: str, items: list[CatalogItem]
    ) -> None:
        link = subscription.link
        remaining = max(0, int(subscription.expires_at - time.monotonic()))
        max_bytes, max_items = page_limits(link)
        pages = catalog_notify(
            items, event, link.next_sn(), link.device_id, link.config.charset, max_bytes,
            max_items=max_items,
        )  # fmt: skip
        remote = parse_name_addr(subscription.remote)
        for page in pages:
            request = link.build_request(
                "NOTIFY",
                uri=subscription.target,
                to_user=remote.uri.user,
                call_id=subscription.call_id,
                from_tag=subscription.local_tag,
                to_tag=remote.tag,
                cseq=next(subscription.cseq),
                headers=[
                    ("Event", subscription.event),
                    ("Subscription-State", f"active;expires={remaining}"),
                ],
                body=page,
                content_type=MANSCDP_TYPE,
            )
            try:
                response = await link.request(request)
            except SipTransportError as exc:
                log.info("catalog NOTIFY to %s unanswered: %s", link.config.name, exc)
                return
            if response.status == 481:  # the platform forgot the subscription
                self._subscriptions.pop(subscription.call_id, None)
                return
