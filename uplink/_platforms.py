"""PlatformStore: the upper platforms' rows — created, changed and removed by
administrators (scoped and audited like cameras), read back by the SIP side.

A platform belongs to the unit of the administrator who added it and sees that unit's
cameras (all of them, or the listed ones).  Its password is sealed like a camera's
credentials; the API never returns it.  Every change calls ``on_change(platform_id)`` so
the running registration follows (re-registers with the new settings, or unregisters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camera_registry import Camera
from core import (
    Database,
    InvalidInputError,
    NotFoundError,
    Permission,
    Principal,
    Room,
    SecretBox,
    Unit,
    authorize,
    can,
    contains,
    record,
    utcnow,
)

from ._config import PlatformConfig, validate_platform
from ._models import UplinkPlatform

__all__ = ["PlatformChanges", "PlatformStore", "root_unit_code"]

OnChange = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PlatformChanges:
    """Fields to change; None leaves a field as it is (``all_cameras`` clears the list)."""

    name: str | None = None
    server_id: str | None = None
    domain: str | None = None
    host: str | None = None
    port: int | None = None
    transport: str | None = None
    username: str | None = None
    password: str | None = None
    expires: int | None = None
    keepalive_interval: int | None = None
    keepalive_misses: int | None = None
    charset: str | None = None
    version: str | None = None
    cameras: Sequence[int] | None = None
    all_cameras: bool | None = None
    enabled: bool | None = None


async def root_unit_code(db: Database) -> str | None:
    """The top unit (the county centre when the county runs the gateway)."""
    async with db.read() as session:
        codes = (
            await session.scalars(
                select(Unit.code).where(Unit.parent_code.is_(None)).order_by(Unit.code)
            )
        ).all()
    return codes[0] if codes else None


class PlatformStore:
    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self.db = db
        self._secrets = secrets
        self._listeners: list[OnChange] = []

    def on_change(self, listener: OnChange) -> None:
        """Call ``listener(platform_id)`` after every committed change of a platform."""
        self._listeners.append(listener)

    async def _changed(self, platform_id: int) -> None:
        for listener in self._listeners:
            await listener(platform_id)

    # ------------------------------------------------------------------ secrets
    def _seal(self, row: UplinkPlatform, password: str) -> None:
        row.password = self._secrets.seal(password, context=f"uplink-platform:{row.id}")

    def _open(self, row: UplinkPlatform) -> str:
        return self._secrets.open(row.password, context=f"uplink-platform:{row.id}")

    def config(self, row: UplinkPlatform) -> PlatformConfig:
        return PlatformConfig(
            id=row.id,
            name=row.name,
            unit_code=row.unit_code,
            server_id=row.server_id,
            domain=row.domain,
            host=row.host,
            port=row.port,
            transport=row.transport,
            username=row.username,
            password=self._open(row),
            expires=row.expires,
            keepalive_interval=row.keepalive_interval,
            keepalive_misses=row.keepalive_misses,
            charset=row.charset,
            version=row.version,
            cameras=tuple(row.cameras) if row.cameras is not None else None,
            enabled=row.enabled,
        )

    # -------------------------------------------------------------------- reads
    async def platforms(self, principal: Principal) -> list[UplinkPlatform]:
        authorize(principal, Permission.CAMERA_MANAGE, principal.unit_code)
        async with self.db.read() as session:
            rows = (await session.scalars(select(UplinkPlatform).order_by(UplinkPlatform.id))).all()
        return [r for r in rows if contains(principal.unit_code, r.unit_code)]

    async def _row(
        self, session: AsyncSession, principal: Principal, platform_id: int
    ) -> UplinkPlatform:
        row = await session.get(UplinkPlatform, platform_id)
        if row is None or not can(principal, Permission.CAMERA_MANAGE, row.unit_code):
            raise NotFoundError(
                f"no upper platform {platform_id} in your scope", code="platform_not_found"
            )
        return row

    async def get(self, principal: Principal, platform_id: int) -> UplinkPlatform:
        async with self.db.read() as session:
            return await self._row(session, principal, platform_id)

    async def load(self, platform_id: int) -> PlatformConfig | None:
        """The platform as the SIP side runs it (password opened); None once deleted."""
        async with self.db.read() as session:
            row = await session.get(UplinkPlatform, platform_id)
            return self.config(row) if row is not None else None

    async def load_all(self) -> list[PlatformConfig]:
        async with self.db.read() as session:
            rows = (await session.scalars(select(UplinkPlatform).order_by(UplinkPlatform.id))).all()
        return [self.config(r) for r in rows]

    async def _check_cameras(
        self, session: AsyncSession, unit_code: str, cameras: Sequence[int]
    ) -> list[int]:
        wanted = sorted(set(cameras))
        if not wanted:
            return []
        rows = await session.execute(
            select(Camera.id, Room.unit_code)
            .join(Room, Camera.room_id == Room.id)
            .where(Camera.id.in_(wanted))
        )
        found = {cid: unit for cid, unit in rows.all()}
        missing = [c for c in wanted if c not in found or not contains(unit_code, found[c])]
        if missing:
            raise InvalidInputError(
                f"cameras {missing} are not cameras of this platform's unit",
                code="invalid_platform",
            )
        return wanted

    # ------------------------------------------------------------------- writes
    async def create(self, principal: Principal, config: PlatformConfig) -> UplinkPlatform:
        authorize(principal, Permission.CAMERA_MANAGE, principal.unit_code)
        config = validate_platform(dataclasses.replace(config, unit_code=principal.unit_code))
        async with self.db.transaction() as session:
            cameras = (
                await self._check_cameras(session, config.unit_code, config.cameras)
                if config.cameras is not None
                else None
            )
            row = UplinkPlatform(
                unit_code=config.unit_code,
                name=config.name,
                server_id=config.server_id,
                domain=config.domain,
                host=config.host,
                port=config.port,
                transport=config.transport,
                username=config.username,
                password="",
                expires=config.expires,
                keepalive_interval=config.keepalive_interval,
                keepalive_misses=config.keepalive_misses,
                charset=config.charset,
                version=config.version,
                cameras=cameras,
                enabled=config.enabled,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            self._seal(row, config.password)
            await record(
                session,
                principal,
                "uplink.platform.create",
                object_type="uplink_platform",
                object_id=row.id,
                unit_code=row.unit_code,
                detail=_audit_detail(row),
            )
        await self._changed(row.id)
        return row

    async def update(
        self, principal: Principal, platform_id: int, changes: PlatformChanges
    ) -> UplinkPlatform:
        async with self.db.transaction() as session:
            row = await self._row(session, principal, platform_id)
            current = self.config(row)
            merged = dataclasses.replace(
                current,
                **{
                    f.name: getattr(changes, f.name)
                    for f in dataclasses.fields(changes)
                    if f.name not in ("cameras", "all_cameras")
                    and getattr(changes, f.name) is not None
                },
            )
            config = validate_platform(merged)
            cameras = row.cameras
            if changes.all_cameras:
                cameras = None
            elif changes.cameras is not None:
                cameras = await self._check_cameras(session, row.unit_code, changes.cameras)
            changed: dict[str, Any] = {}
            for name in (
                "name", "server_id", "domain", "host", "port", "transport", "username",
                "expires", "keepalive_interval", "keepalive_misses", "charset", "version",
                "enabled",
            ):  # fmt: skip
                value = getattr(config, name)
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed[name] = value
            if cameras != row.cameras:
                row.cameras = cameras
                changed["cameras"] = cameras if cameras is not None else "all"
            if config.password != current.password:
                self._seal(row, config.password)
                changed["password"] = "changed"  # never the value
            if changed:
                row.updated_at = utcnow()
                await record(
                    session,
                    principal,
                    "uplink.platform.update",
                    object_type="uplink_platform",
                    object_id=row.id,
                    unit_code=row.unit_code,
                    detail=changed,
                )
        if changed:
            await self._changed(platform_id)
        return row

    async def delete(self, principal: Principal, platform_id: int) -> None:
        async with self.db.transaction() as session:
            row = await self._row(session, principal, platform_id)
            await session.delete(row)
            await record(
                session,
                principal,
                "uplink.platform.delete",
                object_type="uplink_platform",
                object_id=platform_id,
                unit_code=row.unit_code,
                detail={"name": row.name, "server_id": row.server_id},
            )
        await self._changed(platform_id)

    async def publish_state(self, platform_id: int, state: dict[str, Any]) -> None:
        """Store what the SIP side knows now, for processes that do not run it."""
        async with self.db.transaction() as session:
            row = await session.get(UplinkPlatform, platform_id)
            if row is not None:
                row.state = state
                row.state_at = utcnow()


def _audit_detail(row: UplinkPlatform) -> dict[str, Any]:
    return {
        "name": row.name,
        "server_id": row.server_id,
        "host": row.host,
        "port": row.port,
        "transport": row.transport,
        "cameras": row.cameras if row.cameras is not None else "all",
    }
