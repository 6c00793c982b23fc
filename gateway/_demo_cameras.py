"""Demo cameras for ``make demo``: a simulated fleet in its own process, registered over ONVIF.

The gateway never imports the simulator: it starts ``python -m simulator`` as a separate
process (as a real site has separate cameras), reads the endpoints JSON it prints, and
registers one camera per demo room that has none, through the same registry code path an
administrator uses.  Fixed ports keep earlier registrations valid across demo restarts.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from camera_registry import (
    CameraError,
    CameraManager,
    CameraRegistration,
    CameraRegistry,
    OnvifAddress,
)
from core import SYSTEM, Database, Principal, Role, Room, SecretBox
from core.errors import UnavailableError
from gateway._workers import die_with_parent
from uplink import PlatformChanges, PlatformConfig, PlatformStore, root_unit_code

__all__ = [
    "DEMO_PLATFORM_PASSWORD",
    "DemoFleet",
    "register_demo_cameras",
    "register_demo_platform",
    "start_demo_fleet",
]

#: The simulated upper platform's SIP password (demo only).
DEMO_PLATFORM_PASSWORD = "Xueliang-demo-2026"
DEMO_PLATFORM_NAME = "演示雪亮平台（模拟）"

log = logging.getLogger("gateway.demo")


@dataclass
class DemoFleet:
    process: subprocess.Popen[str]
    endpoints: dict[str, Any]

    @property
    def cameras(self) -> list[dict[str, Any]]:
        return list(self.endpoints["cameras"])

    def stop(self) -> None:
        """Terminate the simulator process (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_demo_fleet(count: int, base_port: int) -> DemoFleet:
    """Start ``count`` simulated cameras; returns once they serve (blocking: CLI only)."""
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--cameras",
        str(count),
        "--base-port",
        str(base_port),
        "--discovery-port",
        "0",
        # a simulated upper platform (雪亮平台) the demo gateway registers to over GB/T 28181
        "--platform",
        "--platform-port",
        str(base_port - 1),
        "--platform-password",
        DEMO_PLATFORM_PASSWORD,
    ]
    # the simulator dies with the gateway, even a killed one: no orphan keeps the ports
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )
    assert process.stdout is not None
    document = ""
    while True:
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise UnavailableError(
                f"the camera simulator exited ({process.returncode}) before serving; "
                f"run `{' '.join(command)}` to see why (ports {base_port}+ in use?)"
            )
        document += line
        try:
            endpoints = json.loads(document)
        except json.JSONDecodeError:
            continue
        return DemoFleet(process, endpoints)


async def register_demo_cameras(db: Database, secrets: SecretBox, fleet: DemoFleet) -> int:
    """Register a simulated camera in every room without a camera; the number registered.

    This runs before the gateway serves: nothing runs the cameras it registers yet (the
    registry's reconcile step does nothing); the gateway's camera leases start them when
    it serves.
    """

    async def nothing_runs_yet() -> None:
        pass

    manager = CameraManager(health_interval=None)
    registry = CameraRegistry(db, secrets, manager, nothing_runs_yet)
    return await _register_in_free_rooms(registry, db, fleet)


async def _register_in_free_rooms(registry: CameraRegistry, db: Database, fleet: DemoFleet) -> int:
    from camera_registry import Camera

    async with db.transaction() as session:
        rooms = list(await session.scalars(select(Room).order_by(Room.unit_code, Room.id)))
        used_rooms = set(await session.scalars(select(Camera.room_id)))
        used_ports = {p for p in await session.scalars(select(Camera.onvif_port)) if p}
    free = [c for c in fleet.cameras if c["onvif"]["port"] not in used_ports]
    registered = 0
    for room in rooms:
        if room.id in used_rooms:
            continue
        if not free:
            log.warning("more demo rooms than simulated cameras; some rooms stay without one")
            break
        camera = free.pop(0)
        address = OnvifAddress(
            camera["onvif"]["host"], camera["onvif"]["port"], camera["username"], camera["password"]
        )
        try:
            await registry.register(SYSTEM, CameraRegistration(room_id=room.id, onvif=address))
        except CameraError as exc:
            log.warning("demo camera not registered", extra={"room": room.id, "error": exc.message})
            continue
        registered += 1
    return registered


async def register_demo_platform(db: Database, secrets: SecretBox, fleet: DemoFleet) -> bool:
    """Point the demo at the simulator's upper platform (added once, its port kept up to
    date); True when it was added now."""
    info = fleet.endpoints.get("platform")
    if not info:
        return False
    store = PlatformStore(db, secrets)
    root = await root_unit_code(db)
    if root is None:
        return False
    admin = Principal("system", 0, "gateway", root, Role.ADMIN)
    for row in await store.platforms(admin):
        if row.name == DEMO_PLATFORM_NAME:
            if row.port != int(info["port"]) or row.host != info["host"]:
                changes = PlatformChanges(host=str(info["host"]), port=int(info["port"]))
                await store.update(admin, row.id, changes)
            return False
    await store.create(
        admin,
        PlatformConfig(
            id=0,
            name=DEMO_PLATFORM_NAME,
            unit_code=root,
            server_id=str(info["server_id"]),
            domain=str(info["domain"]),
            host=str(info["host"]),
            port=int(info["port"]),
            transport="udp",
            username="",
            password=str(info["password"]),
            keepalive_interval=30,
        ),
    )
    return True
