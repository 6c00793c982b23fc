"""The channels a platform sees: its unit's cameras (or the listed ones) with their
GB/T 28181 IDs and health, as the catalog, DeviceStatus and INVITE need them.

Health is this process's own for the cameras it runs, else what the camera's owner last
published (several gateway processes: the lease rows' state).  A camera that is disabled,
not running anywhere, or offline is ``OFF``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from camera_registry import Camera, CameraLeases, CameraManager
from core import Database, Room, scope_prefix

from ._config import PlatformConfig

__all__ = ["Channel", "ChannelSource", "civil_code", "speaker_id"]


def civil_code(unit_code: str) -> str:
    """The unit's division code without its unused trailing levels: 431226000000 → 431226,
    431226203000 → 431226203 (GB/T 2260 / GB/T 10114 lengths 6, 9, 12)."""
    code = unit_code
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    return code


def speaker_id(gb_id: str) -> str:
    """The audio-output channel (type 137) of a camera that can talk into its room."""
    return f"{gb_id[:10]}137{gb_id[13:]}"


@dataclass(frozen=True, slots=True)
class Channel:
    camera_id: int
    gb_id: str
    name: str
    unit_code: str
    room: str
    manufacturer: str
    model: str
    firmware: str
    online: bool
    talk: bool
    enabled: bool


class ChannelSource:
    def __init__(self, db: Database, manager: CameraManager, leases: CameraLeases) -> None:
        self.db = db
        self.manager = manager
        self.leases = leases

    async def channels(self, config: PlatformConfig) -> list[Channel]:
        """Every channel ``config`` may see, by unit then room, with its health now."""
        query = (
            select(Camera, Room)
            .join(Room, Camera.room_id == Room.id)
            .where(Room.unit_code.startswith(scope_prefix(config.unit_code), autoescape=True))
            .where(Camera.gb_id.is_not(None))
            .order_by(Room.unit_code, Room.id, Camera.id)
        )
        if config.cameras is not None:
            query = query.where(Camera.id.in_(list(config.cameras)))
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        online = await self._online([camera.id for camera, _ in rows])
        return [
            Channel(
                camera_id=camera.id,
                gb_id=camera.gb_id or "",
                name=camera.name,
                unit_code=room.unit_code,
                room=room.name,
                manufacturer=camera.manufacturer,
                model=camera.model,
                firmware=camera.firmware,
                online=camera.enabled and online.get(camera.id, False),
                talk=camera.talk,
                enabled=camera.enabled,
            )
            for camera, room in rows
        ]

    async def channel(self, config: PlatformConfig, gb_id: str) -> Channel | None:
        return next((c for c in await self.channels(config) if c.gb_id == gb_id), None)

    async def _online(self, camera_ids: list[int]) -> dict[int, bool]:
        states = {c: self.manager.state(c).online for c in camera_ids if c in self.manager}
        remote = [c for c in camera_ids if c not in states]
        if remote:
            for camera_id, (state, _, _) in (await self.leases.published_states(remote)).items():
                states[camera_id] = bool(state and state.get("online"))
        return states
