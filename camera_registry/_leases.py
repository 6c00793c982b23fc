"""Camera leases: several gateway processes share the cameras through the database.

Every enabled camera has a row in ``camera_leases``; the process named in it runs the
camera (its RTSP session, hub, recorder, live sessions) until the lease expires.  Each
process renews its leases every ``renew`` seconds for ``ttl`` seconds and, in the same
short transaction, claims free ones or hands back its excess (:mod:`._balance`).  No
home-made consensus: PostgreSQL is the coordinator (``SELECT … FOR UPDATE SKIP LOCKED``
on the claim, conditional ``UPDATE … WHERE node_id = me`` on renewal, database time for
every expiry); SQLite, the single-process default, runs the same code with one node.

Safety: a process that cannot renew stops its cameras ``fence_after`` seconds after its
last successful renewal — before its leases can expire and be taken — so two processes
never write one camera's recording.  A process that dies (``kill -9``) leaves leases that
expire after ``ttl``; the others take them over in their next round.  A process that
finds a dead predecessor on its own host (same host, pid gone) takes its leases at once.

The owner publishes each camera's state into its lease row every round, so any process
can answer for any camera; live sessions and talk are forwarded to the owner's ``url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from camera_registry._balance import plan_leases
from camera_registry._manager import CameraManager, CameraSpec, CameraState
from camera_registry._models import Camera, CameraLease, GatewayNode
from core import Database

__all__ = ["CameraLeases", "LeaseSettings", "NodeRef"]

log = logging.getLogger("gateway.cluster")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Why a camera stops here (its hub closes with the reason; a recording stops with it).
HANDED_OVER = "handed over to another gateway process (the cameras are rebalanced)"
NOT_OURS = "another gateway process runs the camera now (this one was cut off from the database)"
FENCED = (
    "this gateway process could not reach the database and stopped the camera before "
    "another process may take it over"
)
SHUTTING_DOWN = "gateway process shutting down; another process takes the camera over"
SpecLoader = Callable[[Collection[int]], Awaitable[list[CameraSpec]]]
StatePublisher = Callable[[CameraState], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    ttl: float = 6.0  # a lease lasts this long after its last renewal
    renew: float = 2.0  # seconds between rounds
    url: str = ""  # where the other processes reach this one (HTTP base)

    @property
    def fence_after(self) -> float:
        """Stop our cameras when renewal has failed this long (before anyone may take them)."""
        return self.ttl - self.renew


@dataclass(frozen=True, slots=True)
class NodeRef:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class _Round:
    claimed: dict[int, tuple[str | None, bool]]  # camera id → (previous owner, handed over)
    released: tuple[int, ...]
    held: frozenset[int]  # cameras we own after this round (renewed, claimed, not released)
    changed: frozenset[int]  # held cameras whose registration changed since we started them
    owners: dict[int, NodeRef]  # every held lease, for forwarding
    enabled: frozenset[int]  # every enabled camera


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CameraLeases:
    """This process's part in the shared ownership of cameras.  ``start()``/``close()``."""

    def __init__(
        self,
        db: Database,
        manager: CameraManager,
        load: SpecLoader,
        settings: LeaseSettings | None = None,
        *,
        publish: StatePublisher | None = None,
        on_claim: Callable[[int, str, bool], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.manager = manager
        self.settings = settings or LeaseSettings()
        self.node_id = secrets.token_hex(8)
        self.host = socket.gethostname()
        self._load = load
        self._publish = publish
        self._on_claim = on_claim
        self._owners: dict[int, NodeRef] = {}
        self._live: frozenset[str] = frozenset()
        self._started_versions: dict[int, datetime] = {}
        self._running: set[int] = set()  # cameras these leases started in the manager
        self._renewed = time.monotonic()
        self._fenced = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        self.takeovers = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Run the first round now (a lone process starts its cameras at once), then loop."""
        if self._task is not None:
            return
        try:
            await self.round()
        except Exception:  # the loop retries; a database that is not up yet is no reason to die
            log.exception("first lease round failed; retrying")
        self._task = asyncio.create_task(self._loop(), name="camera leases")

    async def close(self) -> None:
        """Stop the loop and our cameras, and hand our leases back for the others."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for camera_id in list(self._running):
            await self.manager.remove(camera_id, reason=SHUTTING_DOWN)
        self._running.clear()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0), self.db.transaction() as session:
                await session.execute(
                    update(CameraLease)
                    .where(CameraLease.node_id == self.node_id)
                    .values(node_id=None, expires_at=EPOCH, previous_node=self.node_id)
                )
                # the node row stays until it is forgotten: it names who handed back

    def wake(self) -> None:
        """A camera was registered, enabled or changed: run a round soon."""
        self._wake.set()

    async def place(self) -> None:
        """Run a round now and wait for it (after a registration or an enable)."""
        await self.round()

    # ------------------------------------------------------------------- lookups
    def owner(self, camera_id: int) -> NodeRef | None:
        """The process that runs the camera (as of the last round), None if nobody."""
        return self._owners.get(camera_id)

    def is_local(self, camera_id: int) -> bool:
        return camera_id in self.manager

    async def node_url(self, node_id: str) -> str | None:
        """The URL siblings reach a live gateway process at (None if it is not live)."""
        if node_id not in self._live:
            return None
        async with self.db.read() as session:
            node = await session.get(GatewayNode, node_id)
        return node.url if node is not None and node.url else None

    @property
    def live_nodes(self) -> frozenset[str]:
        """The gateway processes that renewed in time, as of the last round (this one too)."""
        return self._live

    @property
    def running(self) -> frozenset[int]:
        """The cameras this process runs because it holds their leases."""
        return frozenset(self._running)

    async def published_states(
        self, camera_ids: Collection[int]
    ) -> dict[int, tuple[dict[str, Any] | None, str | None, str | None]]:
        """What the owners last published about these cameras: (state, owner, when)."""
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(
                        CameraLease.camera_id,
                        CameraLease.state,
                        CameraLease.node_id,
                        CameraLease.state_at,
                    ).where(CameraLease.camera_id.in_(list(camera_ids)))
                )
            ).all()
        return {
            camera: (state, node, at.isoformat() if at is not None else None)
            for camera, state, node, at in rows
        }

    # ----------------------------------------------------------------- the round
    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.renew):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.round()
            except Exception as exc:  # database down or slow: fence below, retry next round
                log.warning("lease round failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await self._fence_if_stale()

    async def _fence_if_stale(self) -> None:
        silent = time.monotonic() - self._renewed
        if silent <= self.settings.fence_after or not self._running:
            return
        if not self._fenced:
            log.error(
                "cannot renew camera leases: stopping this process's cameras before another "
                "process may take them",
                extra={"seconds_without_renewal": round(silent, 1)},
            )
        self._fenced = True
        for camera_id in list(self._running):
            await self.manager.remove(camera_id, reason=FENCED)
            self._started_versions.pop(camera_id, None)
        self._running.clear()

    async def round(self) -> None:
        """One renewal: heartbeat, renew, reconcile, claim/release, publish; then apply."""
        async with self._lock:
            async with asyncio.timeout(self.settings.renew * 2):
                result = await self._sync()
            self._renewed = time.monotonic()
            self._fenced = False
            self.rounds += 1
            self._owners = result.owners
            await self._apply(result)

    async def _now(self, session: AsyncSession) -> datetime:
        if self.db.engine.dialect.name == "postgresql":
            value = await session.scalar(select(func.now()))
            assert isinstance(value, datetime)
            return value
        return datetime.now(UTC)

    async def _sync(self) -> _Round:
        ttl = timedelta(seconds=self.settings.ttl)
        me = self.node_id
        async with self.db.transaction() as session:
            now = await self._now(session)
            await self._heartbeat(session, now)
            renewed = set(
                await session.scalars(
                    update(CameraLease)
                    .where(CameraLease.node_id == me)
                    .values(expires_at=now + ttl)
                    .returning(CameraLease.camera_id)
                )
            )
            enabled = dict(
                (
                    await session.execute(
                        select(Camera.id, Camera.updated_at).where(Camera.enabled.is_(True))
                    )
                ).all()
            )
            leased = set(await session.scalars(select(CameraLease.camera_id)))
            missing = enabled.keys() - leased
            if missing:
                await session.execute(
                    insert(CameraLease),
                    [
                        {"camera_id": c, "node_id": None, "expires_at": EPOCH, "generation": 0}
                        for c in sorted(missing)
                    ],
                )
            gone = leased - enabled.keys()
            if gone:  # disabled cameras: nobody runs them
                await session.execute(delete(CameraLease).where(CameraLease.camera_id.in_(gone)))
                renewed -= gone
            live = await self._live_nodes(session, now)
            self._live = frozenset(live)
            rows = (
                await session.execute(
                    select(CameraLease.camera_id, CameraLease.node_id, CameraLease.expires_at)
                )
            ).all()
            held_by: dict[int, str] = {
                camera: node
                for camera, node, expires in rows
                if node is not None and node in live and (node == me or expires >= now)
            }
            free = sorted(camera for camera, _, _ in rows if camera not in held_by)
            loads = dict.fromkeys(live, 0)
            for node in held_by.values():
                loads[node] += 1
            mine = [c for c, n in held_by.items() if n == me]
            plan = plan_leases(mine, me=me, loads=loads, cameras=len(rows), free=len(free))
            claimed: dict[int, tuple[str | None, bool]] = {}
            if plan.claim:
                claimed = await self._claim(session, now, free, plan.claim, live)
            held = (renewed | claimed.keys()) - set(plan.release)
            owners = {c: NodeRef(n, live[n]) for c, n in held_by.items()}
            owners.update({c: NodeRef(me, self.settings.url) for c in claimed})
            for camera in plan.release:
                owners.pop(camera, None)
            if len(live) > 1:  # a lone process answers for its cameras itself
                await self._publish_states(session, held)
        changed = frozenset(
            c
            for c in held
            if c in self._started_versions and enabled.get(c) != self._started_versions[c]
        )
        for camera in held:
            if camera in enabled and camera not in self._started_versions:
                self._started_versions[camera] = enabled[camera]
        for camera in changed:
            self._started_versions[camera] = enabled[camera]
        return _Round(claimed, plan.release, frozenset(held), changed, owners, frozenset(enabled))

    async def _heartbeat(self, session: AsyncSession, now: datetime) -> None:
        node = await session.get(GatewayNode, self.node_id)
        if node is None:
            session.add(
                GatewayNode(
                    id=self.node_id,
                    url=self.settings.url,
                    host=self.host,
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )
        else:
            node.heartbeat_at = now
            node.url = self.settings.url
        await session.flush()
        # processes silent for long are forgotten (their leases are free already)
        await session.execute(
            delete(GatewayNode).where(
                GatewayNode.heartbeat_at < now - 20 * timedelta(seconds=self.settings.ttl)
            )
        )

    async def _live_nodes(self, session: AsyncSession, now: datetime) -> dict[str, str]:
        """Processes that renewed within ``ttl`` — minus those on this host whose pid is gone."""
        horizon = now - timedelta(seconds=self.settings.ttl)
        nodes = (
            await session.execute(
                select(GatewayNode.id, GatewayNode.url, GatewayNode.host, GatewayNode.pid).where(
                    GatewayNode.heartbeat_at >= horizon
                )
            )
        ).all()
        return {
            node: url
            for node, url, host, pid in nodes
            if node == self.node_id or host != self.host or _pid_alive(pid)
        }

    async def _claim(
        self,
        session: AsyncSession,
        now: datetime,
        free: list[int],
        count: int,
        live: dict[str, str],
    ) -> dict[int, tuple[str | None, bool]]:
        me = self.node_id
        candidates = (
            select(CameraLease.camera_id, CameraLease.node_id, CameraLease.previous_node)
            .where(
                CameraLease.camera_id.in_(free),
                (CameraLease.node_id.is_(None))
                | (CameraLease.expires_at < now)
                | (CameraLease.node_id.not_in(list(live))),
            )
            .order_by(CameraLease.camera_id)
            .limit(count)
        )
        if self.db.engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        picked = (await session.execute(candidates)).all()
        if not picked:
            return {}
        ttl = timedelta(seconds=self.settings.ttl)
        claimed: dict[int, tuple[str | None, bool]] = {}
        for camera, owner, handed_over_by in picked:
            # a graceful hand-back leaves no owner and its name behind; a dead owner's
            # expired lease still names it
            previous = owner or handed_over_by
            claimed[camera] = (previous, owner is None and handed_over_by is not None)
            await session.execute(
                update(CameraLease)
                .where(CameraLease.camera_id == camera)
                .values(
                    node_id=me,
                    expires_at=now + ttl,
                    generation=CameraLease.generation + 1,
                    taken_at=now,
                    previous_node=previous,
                )
            )
        return claimed

    async def _publish_states(self, session: AsyncSession, held: Collection[int]) -> None:
        if self._publish is None:
            return
        values = []
        for camera in held:
            if camera in self.manager:
                values.append({"id": camera, "state": self._publish(self.manager.state(camera))})
        for value in values:
            await session.execute(
                update(CameraLease)
                .where(CameraLease.camera_id == value["id"], CameraLease.node_id == self.node_id)
                .values(state=value["state"], state_at=func.now())
            )

    # ------------------------------------------------------------------- apply
    async def _apply(self, result: _Round) -> None:
        manager = self.manager
        for camera in result.released:
            await manager.remove(camera, reason=HANDED_OVER)
            self._started_versions.pop(camera, None)
            self._running.discard(camera)
        if result.released:
            async with self.db.transaction() as session:
                await session.execute(
                    update(CameraLease)
                    .where(
                        CameraLease.camera_id.in_(result.released),
                        CameraLease.node_id == self.node_id,
                    )
                    .values(node_id=None, expires_at=EPOCH, previous_node=self.node_id)
                )
        for camera in list(self._running):
            if camera not in result.held:  # disabled or removed, or taken from us (fenced)
                await manager.remove(camera, reason=NOT_OURS if camera in result.enabled else None)
                self._started_versions.pop(camera, None)
                self._running.discard(camera)
        wanted = [c for c in result.held if c not in manager or c in result.changed]
        if not wanted:
            return
        for spec in await self._load(wanted):
            if spec.camera_id in manager:
                await manager.update(spec)
            else:
                # The bookkeeping of a change of process comes first: nothing (the
                # recording policy) may start on the camera before it is done.
                previous, handed_over = result.claimed.get(spec.camera_id, (None, False))
                if previous is not None and previous != self.node_id:
                    self.takeovers += 1
                    log.warning(
                        "camera handed over" if handed_over else "camera taken over",
                        extra={"camera": spec.camera_id, "from_node": previous},
                    )
                    if self._on_claim is not None:
                        try:
                            await self._on_claim(spec.camera_id, previous, handed_over)
                        except Exception:  # the camera still runs; only its bookkeeping failed
                            log.exception("takeover bookkeeping failed")
                await manager.add(spec)
                self._running.add(spec.camera_id)
