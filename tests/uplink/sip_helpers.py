"""Shared by the uplink tests: a PlatformLink on a loopback endpoint, short timers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from media import SipRequest, response_to
from simulator import SimulatedPlatform
from uplink import LinkTiming, Peer, PlatformConfig, PlatformLink, SipEndpoint, Timers

DEVICE_ID = "43122600001180000001"
FAST_TIMERS = Timers(t1=0.05, t2=0.4, t4=0.5)  # a transaction gives up after 3.2 s
FAST_TIMING = LinkTiming(
    retry_base=0.3, retry_max=1.0, wrong_password_retry=1.0, min_refresh=0.3, jitter=0.2
)


def platform_config(platform: SimulatedPlatform, **overrides: Any) -> PlatformConfig:
    config = PlatformConfig(
        id=1,
        name="simulated",
        unit_code="431226000000",
        server_id=platform.server_id,
        domain=platform.domain,
        host="127.0.0.1",
        port=platform.port,
        transport=platform.transport.lower(),
        username="",
        password=platform.password,
        expires=3600,
        keepalive_interval=1,
        keepalive_misses=2,
    )
    return replace(config, **overrides)


async def answer_options(request: SipRequest, peer: Peer, endpoint: list[SipEndpoint]) -> None:
    await endpoint[0].respond(request, response_to(request, 200), peer)


@asynccontextmanager
async def running_link(
    platform: SimulatedPlatform, **overrides: Any
) -> AsyncIterator[PlatformLink]:
    holder: list[SipEndpoint] = []

    async def handler(request: SipRequest, peer: Peer) -> None:
        await answer_options(request, peer, holder)

    links: list[PlatformLink] = []
    endpoint = SipEndpoint(
        "127.0.0.1",
        0,
        handler,
        timers=FAST_TIMERS,
        on_disconnect=lambda peer: [link.connection_lost() for link in links],
    )
    holder.append(endpoint)
    await endpoint.start()
    link = PlatformLink(
        platform_config(platform, **overrides), endpoint, DEVICE_ID, timing=FAST_TIMING
    )
    links.append(link)
    link.start()
    try:
        yield link
    finally:
        await link.close()
        await endpoint.close()


async def until(check: Callable[[], Any], within: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or check}")
        await asyncio.sleep(0.05)
