"""Any process answers any request: what needs a camera's media goes to its owner.

With several gateway processes on one database, each camera runs in exactly one of them
(its lease, see ``camera_registry.CameraLeases``).  Pages and the JSON API work on every
process; a request that needs the camera's media — a WHEP view, talk, the floor, a
keyframe snapshot, starting a recording — is forwarded over HTTP to the owner's
``url`` when this process does not run the camera.  The browser never notices: the
answer (an SDP answer with the owner's ICE candidates, a JPEG) comes back through the
process it asked, and the media then flows between the browser and the owner directly.

The forwarded request carries who asked, signed with a key every process of the
deployment shares (derived from ``secret.key``, which they already share to open camera
credentials) over the method, path and a timestamp; the owner checks the signature,
loads that user or machine account from the database again (so a disabled user or a
revoked token stops at once) and authorises the request itself.  CSRF was checked by
the process the browser talked to.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from sqlalchemy import select

from camera_registry import CameraLeases
from core import (
    SYSTEM,
    ApiToken,
    AuthenticationError,
    Principal,
    Role,
    UnavailableError,
    User,
    principal_of,
)

from ._context import DB, current_principal

__all__ = ["CLUSTER", "FORWARDED", "Cluster", "forward_if_remote", "forward_to_node"]

log = logging.getLogger("gateway.cluster")

FORWARDED = "X-Zongzhi-Forwarded"
_SKEW = 30.0  # seconds a signature stays good (clock difference and transit)
_HOP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "cookie", "authorization"}
)


@dataclass
class Cluster:
    """This process's view of its siblings: the leases, the shared key, an HTTP client."""

    leases: CameraLeases
    key: bytes
    http: aiohttp.ClientSession | None = None

    def sign(self, principal: Principal, method: str, path: str) -> str:
        stamp = str(int(time.time()))
        who = f"{principal.kind}:{principal.id}"
        mac = self._mac(self.leases.node_id, who, stamp, method, path)
        return f"{self.leases.node_id}|{who}|{stamp}|{mac}"

    def _mac(self, node: str, who: str, stamp: str, method: str, path: str) -> str:
        message = "|".join((node, who, stamp, method.upper(), path)).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def verify(self, header: str, method: str, path: str) -> tuple[str, int]:
        """(kind, id) of the original caller; :class:`AuthenticationError` if not genuine."""
        parts = header.split("|")
        if len(parts) != 4:
            raise AuthenticationError("malformed forwarded request", code="bad_forward")
        node, who, stamp, mac = parts
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > _SKEW:
            raise AuthenticationError(
                "forwarded request is too old (are the gateways' clocks in step?)",
                code="bad_forward",
            )
        expected = self._mac(node, who, stamp, method, path)
        if not hmac.compare_digest(expected, mac):
            raise AuthenticationError(
                "forwarded request is not signed by this deployment (do the processes "
                "share secret.key?)",
                code="bad_forward",
            )
        kind, _, raw_id = who.partition(":")
        if kind not in ("user", "machine", "system") or not raw_id.isdigit():
            raise AuthenticationError("forwarded request names no caller", code="bad_forward")
        return kind, int(raw_id)


CLUSTER = web.AppKey("cluster", Cluster)


async def forwarded_principal(request: web.Request, cluster: Cluster, header: str) -> Principal:
    """The caller of a request another process of this deployment forwarded."""
    kind, ident = cluster.verify(header, request.method, request.path_qs)
    if kind == "system":  # the gateway itself (the SIP process asking a camera's owner)
        return SYSTEM
    async with request.app[DB].read() as session:
        if kind == "user":
            user = await session.get(User, ident)
            if user is None or user.disabled:
                raise AuthenticationError("the forwarding caller's account is disabled")
            return principal_of(user)
        token = await session.scalar(select(ApiToken).where(ApiToken.id == ident))
        if token is None or token.revoked_at is not None:
            raise AuthenticationError("the forwarding caller's machine account is revoked")
        return Principal("machine", token.id, token.name, token.unit_code, Role(token.role))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def forward_if_remote(request: web.Request, camera_id: int) -> web.StreamResponse | None:
    """Forward the request to the process that runs ``camera_id``; None if it runs here
    (or nobody does: the handler then answers as for a camera that is not running)."""
    cluster = request.app.get(CLUSTER)
    if cluster is None or cluster.leases.is_local(camera_id) or FORWARDED in request.headers:
        return None
    owner = cluster.leases.owner(camera_id)
    if owner is None or owner.id == cluster.leases.node_id or not owner.url:
        return None
    return await _forward(request, cluster, owner.url, f"camera {camera_id}", owner.id)


async def forward_to_node(request: web.Request, node_id: str | None) -> web.StreamResponse | None:
    """Forward the request to the live process ``node_id`` (a meeting's host); None when
    it is this process, when it is not live any more (this process takes over), or when
    the request was forwarded already."""
    cluster = request.app.get(CLUSTER)
    if (
        cluster is None
        or node_id is None
        or node_id == cluster.leases.node_id
        or FORWARDED in request.headers
    ):
        return None
    url = await cluster.leases.node_url(node_id)
    if url is None:
        return None
    return await _forward(request, cluster, url, "this meeting's room", node_id)


async def _forward(
    request: web.Request, cluster: Cluster, base_url: str, what: str, node_id: str
) -> web.StreamResponse:
    if cluster.http is None:
        raise UnavailableError("this gateway process cannot reach its siblings yet")
    principal = current_principal(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    headers[FORWARDED] = cluster.sign(principal, request.method, request.path_qs)
    body = await request.read() if request.can_read_body else None
    url = base_url.rstrip("/") + request.path_qs
    try:
        async with cluster.http.request(
            request.method, url, data=body, headers=headers, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            keep = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in _HOP_HEADERS and k.lower() != "content-encoding"
            }
            return web.Response(status=upstream.status, body=payload, headers=keep)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning(
            "forwarding to a sibling process failed",
            extra={"what": what, "owner": node_id, "error": str(exc)},
        )
        raise UnavailableError(
            f"the gateway process running {what} did not answer; "
            "it may be restarting — try again in a few seconds"
        ) from None
