"""Where a camera run by another process takes RTSP pulls (the restream's redirect).

Every process runs its own restream listener.  A pull for a camera another process runs
is answered ``302 Moved Temporarily`` with the owner's address: the host of the owner's
cluster URL (the lease's node row) — or, when that is loopback (workers of one box), the
host the reader used — and the port the owner says in ``/healthz`` (``restream_port``:
its own port, ``[restream] own_port`` under ``serve --workers``).  Answers are kept a
short while per node, so a burst of pulls costs one look-up.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import aiohttp

from camera_registry import CameraLeases, NodeRef
from uplink import RestreamOwner

__all__ = ["OwnerLocator"]

log = logging.getLogger("gateway.restream")

_KEEP = 30.0  # seconds a node's answer is reused
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class OwnerLocator:
    """``await locate(camera_id)``: the owner's restream address, None if unknown."""

    def __init__(self, leases: CameraLeases) -> None:
        self._leases = leases
        self._known: dict[str, tuple[float, RestreamOwner | None]] = {}
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def __call__(self, camera_id: int) -> RestreamOwner | None:
        node = self._leases.owner(camera_id)
        if node is None:
            node = await self._from_lease_row(camera_id)  # claimed since this process's round
        if node is None or node.id == self._leases.node_id or not node.url:
            return None
        now = time.monotonic()
        known = self._known.get(node.id)
        if known is not None and now - known[0] < _KEEP:
            return known[1]
        owner = await self._ask(node.url)
        self._known[node.id] = (now, owner)
        return owner

    async def _from_lease_row(self, camera_id: int) -> NodeRef | None:
        try:
            rows = await self._leases.published_states([camera_id])
            node_id = rows[camera_id][1] if camera_id in rows else None
            url = await self._leases.node_url(node_id) if node_id else None
        except Exception as exc:  # the database is away: the reader gets 404 and retries
            log.warning("restream: cannot read the camera's lease", extra={"error": str(exc)})
            return None
        return NodeRef(node_id, url) if node_id and url else None

    async def _ask(self, url: str) -> RestreamOwner | None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3.0))
        try:
            async with self._http.get(url.rstrip("/") + "/healthz") as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning(
                "restream: cannot reach the camera's owner", extra={"url": url, "error": str(exc)}
            )
            return None
        port = body.get("restream_port") if isinstance(body, dict) else None
        if not isinstance(port, int) or not 0 < port < 65536:
            return None  # the owner has no restream listener
        host = urlsplit(url).hostname
        return RestreamOwner(None if host in _LOOPBACK else host, port)
