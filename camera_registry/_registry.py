"""CameraRegistry: register, change and remove cameras; every change authorized and audited.

Registration talks to the camera (ONVIF, then one RTSP negotiation for the talk probe)
*outside* any database transaction — a slow camera must not hold the database's write
lock — and stores the row, its sealed credentials and the audit entry in one transaction.
Running cameras follow registrations through the :class:`CameraManager` the registry is
built with (build the manager first: its ``load`` is :func:`load_camera_specs`).

Reads are scoped like everything else (一级一权限): a caller sees the cameras in the
rooms of its own unit and the units below; others do not exist for it (404).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camera_registry._channel_ids import channel_id, check_channel_id
from camera_registry._discovery import MULTICAST_TARGET, DiscoveredDevice, discover
from camera_registry._errors import CameraError, CameraNotFoundError, InvalidStreamUrlError
from camera_registry._manager import CameraManager, CameraSpec
from camera_registry._models import Camera
from camera_registry._onvif import OnvifDevice, read_onvif_device
from camera_registry._probe import StreamProbe, fetch_snapshot, keyframe_jpeg, probe_stream
from core import (
    Database,
    Permission,
    Principal,
    Room,
    SecretBox,
    authorize,
    can,
    record,
    scope_prefix,
    utcnow,
)
from core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "CameraChanges",
    "CameraRegistration",
    "CameraRegistry",
    "CameraView",
    "OnvifAddress",
    "load_camera_specs",
]


@dataclass(frozen=True, slots=True)
class OnvifAddress:
    host: str
    port: int
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class CameraRegistration:
    """Either ``onvif`` or ``rtsp_url`` (with optional ``username``/``password``)."""

    room_id: int
    name: str | None = None
    onvif: OnvifAddress | None = None
    rtsp_url: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class CameraChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    room_id: int | None = None
    enabled: bool | None = None
    username: str | None = None
    password: str | None = None
    rtsp_url: str | None = None  # cameras registered by RTSP URL only
    gb_id: str | None = None  # GB/T 28181 channel ID (20 digits, type 131/132)


@dataclass(frozen=True, slots=True)
class CameraView:
    camera: Camera
    room: Room

    @property
    def unit_code(self) -> str:
        return self.room.unit_code


def split_rtsp_url(url: str) -> tuple[str, str | None, str | None]:
    """``rtsp://user:pw@host/path`` → (URL without user info, user, password) (pure)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise InvalidStreamUrlError(f"stream URL {url!r} must be rtsp://host[:port]/path")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return parts._replace(netloc=netloc).geturl(), user, password


class CameraRegistry:
    def __init__(
        self,
        db: Database,
        secrets: SecretBox,
        manager: CameraManager,
        reconcile: Callable[[], Awaitable[None]],
        *,
        probe_timeout: float = 15.0,
        discovery_targets: Sequence[tuple[str, int]] = (MULTICAST_TARGET,),
    ) -> None:
        """``reconcile`` runs the camera leases' round: after a registration, change or
        removal it starts, restarts or stops the camera wherever it is (or will be) run."""
        self.db = db
        self.manager = manager
        self._reconcile = reconcile
        self._secrets = secrets
        self._timeout = probe_timeout
        self._discovery_targets = tuple(discovery_targets)

    # ------------------------------------------------------------------ secrets
    def credentials(self, camera: Camera) -> tuple[str | None, str | None]:
        return _credentials(self._secrets, camera)

    def _seal(self, camera: Camera, username: str | None, password: str | None) -> None:
        plain = json.dumps({"username": username, "password": password})
        camera.credentials = self._secrets.seal(plain, context=f"camera:{camera.id}")

    # -------------------------------------------------------------------- reads
    async def _room(self, session: AsyncSession, principal: Principal, room_id: int) -> Room:
        room = await session.get(Room, room_id)
        if room is None or not can(principal, Permission.ORG_READ, room.unit_code):
            raise NotFoundError(f"no room {room_id} in your scope", code="room_not_found")
        authorize(principal, Permission.CAMERA_MANAGE, room.unit_code)
        return room

    async def cameras(
        self, principal: Principal, *, unit_code: str | None = None
    ) -> list[CameraView]:
        """Cameras in the caller's scope (optionally under ``unit_code``), by unit and room."""
        scope = unit_code or principal.unit_code
        authorize(principal, Permission.CAMERA_VIEW, scope)
        async with self.db.read() as session:
            rows = await session.execute(
                select(Camera, Room)
                .join(Room, Camera.room_id == Room.id)
                .where(Room.unit_code.startswith(scope_prefix(scope), autoescape=True))
                .order_by(Room.unit_code, Room.id, Camera.id)
            )
            return [CameraView(camera, room) for camera, room in rows.all()]

    async def _view(
        self, session: AsyncSession, principal: Principal, camera_id: int
    ) -> CameraView:
        found = (
            await session.execute(
                select(Camera, Room)
                .join(Room, Camera.room_id == Room.id)
                .where(Camera.id == camera_id)
            )
        ).first()
        if found is None or not can(principal, Permission.CAMERA_VIEW, found[1].unit_code):
            raise CameraNotFoundError(f"no camera {camera_id} in your scope")
        return CameraView(found[0], found[1])

    async def get(self, principal: Principal, camera_id: int) -> CameraView:
        async with self.db.read() as session:
            return await self._view(session, principal, camera_id)

    # ----------------------------------------------------------------- register
    async def register(self, principal: Principal, reg: CameraRegistration) -> CameraView:
        """Probe the camera, then store it and start it; raises a CameraError on failure."""
        if (reg.onvif is None) == (reg.rtsp_url is None):
            raise InvalidStreamUrlError("give either an ONVIF address or an RTSP URL, not both")
        async with self.db.transaction() as session:
            room = await self._room(session, principal, reg.room_id)
        device: OnvifDevice | None = None
        username: str | None
        password: str | None
        if reg.onvif is not None:
            username, password = reg.onvif.username, reg.onvif.password
            device = await read_onvif_device(
                reg.onvif.host, reg.onvif.port, username, password, time_limit=self._timeout
            )
            url: str = split_rtsp_url(device.main.stream_uri)[0]
        else:
            assert reg.rtsp_url is not None
            url, url_user, url_password = split_rtsp_url(reg.rtsp_url)
            username = reg.username if reg.username is not None else url_user
            password = reg.password if reg.password is not None else url_password
        probe = await probe_stream(url, username, password, request_timeout=self._timeout)
        async with self.db.transaction() as session:
            room = await self._room(session, principal, reg.room_id)  # may have changed
            duplicate = await session.scalar(select(Camera.id).where(Camera.rtsp_url == url))
            if duplicate is not None:
                raise ConflictError(
                    f"this camera is already registered (camera {duplicate})",
                    code="camera_duplicate",
                )
            camera = _new_camera(room, reg, url, device, probe)
            session.add(camera)
            try:
                await session.flush()
            except IntegrityError:
                raise ConflictError(
                    "this camera was registered at the same moment by someone else",
                    code="camera_duplicate",
                ) from None
            self._seal(camera, username, password)
            camera.gb_id = await _free_channel_id(session, room.unit_code, camera.id)
            await record(
                session,
                principal,
                "camera.register",
                object_type="camera",
                object_id=camera.id,
                unit_code=room.unit_code,
                detail={
                    "room": room.id,
                    "source": camera.source,
                    "serial": camera.serial,
                    "talk": camera.talk,
                    "clock_offset": camera.clock_offset,
                },
            )
        view = CameraView(camera, room)
        await self._reconcile()
        return view

    # ------------------------------------------------------------------ change
    async def update(
        self, principal: Principal, camera_id: int, changes: CameraChanges
    ) -> CameraView:
        async with self.db.transaction() as session:
            view = await self._view(session, principal, camera_id)
            authorize(principal, Permission.CAMERA_MANAGE, view.unit_code)
        camera = view.camera
        old_user, old_password = self.credentials(camera)
        username = changes.username if changes.username is not None else old_user
        password = changes.password if changes.password is not None else old_password
        url = camera.rtsp_url
        if changes.rtsp_url is not None:
            if camera.source != "rtsp":
                raise InvalidStreamUrlError(
                    "the stream URL of an ONVIF camera comes from the camera; "
                    "register it again to change its address"
                )
            url = split_rtsp_url(changes.rtsp_url)[0]
        if (username, password, url) != (old_user, old_password, camera.rtsp_url):
            # Verify before storing; without the backchannel, which the running ingest holds.
            await probe_stream(
                url, username, password, backchannel=False, request_timeout=self._timeout
            )
        async with self.db.transaction() as session:
            view = await self._view(session, principal, camera_id)
            camera, room = view.camera, view.room
            changed: dict[str, object] = {}
            if changes.room_id is not None and changes.room_id != camera.room_id:
                room = await self._room(session, principal, changes.room_id)
                camera.room_id = room.id
                changed["room"] = room.id
            if changes.name is not None and changes.name != camera.name:
                camera.name = changed["name"] = changes.name
            if changes.enabled is not None and changes.enabled != camera.enabled:
                camera.enabled = changed["enabled"] = changes.enabled
            if url != camera.rtsp_url:
                camera.rtsp_url = changed["rtsp_url"] = url
            if changes.gb_id is not None and changes.gb_id.strip() != camera.gb_id:
                camera.gb_id = changed["gb_id"] = await _edited_channel_id(
                    session, camera.id, changes.gb_id
                )
            if (username, password) != (old_user, old_password):
                self._seal(camera, username, password)
                changed["credentials"] = "changed"  # never the values
            if changed:
                camera.updated_at = utcnow()
                await record(
                    session,
                    principal,
                    "camera.update",
                    object_type="camera",
                    object_id=camera.id,
                    unit_code=room.unit_code,
                    detail=changed,
                )
        await self._reconcile()
        return CameraView(camera, room)

    async def delete(self, principal: Principal, camera_id: int) -> None:
        async with self.db.transaction() as session:
            view = await self._view(session, principal, camera_id)
            authorize(principal, Permission.CAMERA_MANAGE, view.unit_code)
            await session.delete(view.camera)
            await record(
                session,
                principal,
                "camera.delete",
                object_type="camera",
                object_id=camera_id,
                unit_code=view.unit_code,
                detail={"name": view.camera.name, "serial": view.camera.serial},
            )
        await self._reconcile()

    # ------------------------------------------------------- running cameras
    def spec(self, view: CameraView) -> CameraSpec:
        return _spec(self._secrets, view)

    async def snapshot(
        self, principal: Principal, camera_id: int, *, thumbnail: bool = False
    ) -> bytes:
        """A JPEG: the last health thumbnail, the camera's snapshot URI, or a keyframe."""
        view = await self.get(principal, camera_id)
        manager = self.manager
        running = camera_id in manager
        if thumbnail and running:
            picture = manager.state(camera_id).picture
            if picture is not None and picture.thumbnail:
                return picture.thumbnail
            return await keyframe_jpeg(manager.hub(camera_id), size=(320, 180))
        if view.camera.snapshot_uri:
            username, password = self.credentials(view.camera)
            try:
                return await fetch_snapshot(view.camera.snapshot_uri, username, password)
            except CameraError:
                if not running:
                    raise
        if not running:
            raise CameraNotFoundError(
                f"camera {camera_id} is disabled and has no snapshot URI; enable it first"
            )
        return await keyframe_jpeg(manager.hub(camera_id))

    async def discover(
        self,
        principal: Principal,
        *,
        targets: Iterable[tuple[str, int]] | None = None,
        wait: float = 2.0,
    ) -> list[DiscoveredDevice]:
        """WS-Discovery scan; the devices that are not registered yet."""
        authorize(principal, Permission.CAMERA_MANAGE, principal.unit_code)
        found = await discover(targets or self._discovery_targets, wait=wait)
        async with self.db.transaction() as session:
            rows = await session.execute(select(Camera.onvif_host, Camera.onvif_port))
            addresses = {(r.onvif_host, r.onvif_port) for r in rows if r.onvif_host}
        return [d for d in found if (d.host, d.port) not in addresses]


async def load_camera_specs(
    db: Database, secrets: SecretBox, ids: Collection[int] | None = None
) -> list[CameraSpec]:
    """Enabled cameras (``ids``: only those) as the :class:`CameraManager` runs them.

    A function of the database and the secrets, not of the registry, so that the manager
    and the leases can be built first and handed to the registry.
    """
    query = (
        select(Camera, Room).join(Room, Camera.room_id == Room.id).where(Camera.enabled.is_(True))
    )
    if ids is not None:
        query = query.where(Camera.id.in_(list(ids)))
    async with db.transaction() as session:
        rows = await session.execute(query.order_by(Camera.id))
        views = [CameraView(camera, room) for camera, room in rows.all()]
    return [_spec(secrets, view) for view in views]


async def _free_channel_id(session: AsyncSession, unit_code: str, camera_id: int) -> str:
    """The default channel ID of a new camera; the next free serial if an administrator
    already gave that number to another camera."""
    serial = camera_id % 1_000_000
    for _ in range(1000):
        candidate = channel_id(unit_code, serial)
        if await session.scalar(select(Camera.id).where(Camera.gb_id == candidate)) is None:
            return candidate
        serial = (serial + 1) % 1_000_000
    raise ConflictError("no free GB/T 28181 channel ID near this camera's number")


async def _edited_channel_id(session: AsyncSession, camera_id: int, value: str) -> str:
    try:
        gb_id = check_channel_id(value)
    except ValueError as exc:
        raise InvalidInputError(str(exc), code="invalid_channel_id") from None
    other = await session.scalar(
        select(Camera.id).where(Camera.gb_id == gb_id, Camera.id != camera_id)
    )
    if other is not None:
        raise ConflictError(
            f"channel ID {gb_id} already belongs to camera {other}", code="channel_id_taken"
        )
    return gb_id


def _credentials(secrets: SecretBox, camera: Camera) -> tuple[str | None, str | None]:
    data = json.loads(secrets.open(camera.credentials, context=f"camera:{camera.id}"))
    return data.get("username"), data.get("password")


def _spec(secrets: SecretBox, view: CameraView) -> CameraSpec:
    camera = view.camera
    username, password = _credentials(secrets, camera)
    return CameraSpec(
        camera_id=camera.id,
        name=camera.name,
        unit_code=view.unit_code,
        rtsp_url=camera.rtsp_url,
        username=username,
        password=password,
        clock_offset=camera.clock_offset,
        talk_reason=camera.talk_reason,
        sub_rtsp_url=camera.sub_rtsp_url,
    )


def _new_camera(
    room: Room,
    reg: CameraRegistration,
    url: str,
    device: OnvifDevice | None,
    probe: StreamProbe,
) -> Camera:
    sub = device.sub if device is not None else None
    return Camera(
        room_id=room.id,
        name=reg.name or room.name,
        source="onvif" if device is not None else "rtsp",
        onvif_host=reg.onvif.host if reg.onvif is not None else None,
        onvif_port=reg.onvif.port if reg.onvif is not None else None,
        credentials="",
        manufacturer=device.manufacturer if device else "",
        model=device.model if device else "",
        serial=device.serial if device else "",
        firmware=device.firmware if device else "",
        main_profile=device.main.token if device else None,
        rtsp_url=url,
        sub_profile=sub.token if sub is not None else None,
        sub_rtsp_url=split_rtsp_url(sub.stream_uri)[0] if sub is not None else None,
        snapshot_uri=device.main.snapshot_uri if device else None,
        profiles=[p.as_json() for p in device.profiles] if device else [],
        audio_outputs=",".join(device.audio_outputs) if device else "",
        audio_decoders=",".join(device.audio_decoders) if device else "",
        backchannel_codecs=",".join(probe.backchannel_codecs),
        talk=probe.talk,
        talk_reason=probe.listen_only_reason,
        clock_offset=device.clock_offset if device else None,
        clock_checked_at=utcnow() if device else None,
        enabled=True,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
