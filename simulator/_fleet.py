"""A fleet of simulated cameras on one host, sharing replay clips and a discovery port."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ._camera import SimulatedCamera
from ._clip import ClipLibrary
from ._config import CameraConfig, PictureMode, default_camera_config
from ._discovery import DiscoveryResponder
from ._wsdiscovery import DiscoveryInfo

__all__ = ["CameraFleet"]


class CameraFleet:
    def __init__(
        self,
        configs: Sequence[CameraConfig],
        *,
        discovery_host: str = "127.0.0.1",
        discovery_port: int | None = 0,
        clip_cache_dir: Path | None = None,
    ) -> None:
        if len({(c.host, c.http_port) for c in configs if c.http_port}) != len(
            [c for c in configs if c.http_port]
        ):
            raise ValueError("two cameras of the fleet were given the same HTTP port")
        self.clips = ClipLibrary(clip_cache_dir)
        self.cameras = [SimulatedCamera(c, clips=self.clips) for c in configs]
        self.discovery: DiscoveryResponder | None = (
            DiscoveryResponder(self._discovery_infos, discovery_host, discovery_port)
            if discovery_port is not None
            else None
        )
        self._started = False

    @classmethod
    def create(
        cls,
        count: int,
        *,
        mode: PictureMode = PictureMode.REPLAY,
        host: str = "127.0.0.1",
        base_port: int = 0,
        discovery_port: int | None = 0,
        clip_cache_dir: Path | None = None,
        **overrides: object,
    ) -> CameraFleet:
        """``count`` cameras; with ``base_port`` P camera i serves HTTP on P+2i, RTSP on P+2i+1."""
        if count < 1:
            raise ValueError(f"a fleet needs at least one camera, not {count}")
        configs = [
            default_camera_config(
                i,
                mode=mode,
                host=host,
                http_port=base_port + 2 * i if base_port else 0,
                rtsp_port=base_port + 2 * i + 1 if base_port else 0,
                **overrides,
            )
            for i in range(count)
        ]
        return cls(
            configs,
            discovery_host=host,
            discovery_port=discovery_port,
            clip_cache_dir=clip_cache_dir,
        )

    def _discovery_infos(self) -> list[DiscoveryInfo]:
        return [info for camera in self.cameras if (info := camera.discovery_info()) is not None]

    @property
    def discovery_port(self) -> int | None:
        return self.discovery.port if self.discovery is not None else None

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            # Cameras sharing a clip wait for one encode; distinct streams encode in parallel.
            await asyncio.gather(*(camera.start() for camera in self.cameras))
            if self.discovery is not None:
                await self.discovery.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._started = False
        if self.discovery is not None:
            await self.discovery.close()
        for camera in self.cameras:
            await camera.close()
        await self.clips.close()

    async def __aenter__(self) -> CameraFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def endpoints(self) -> dict[str, object]:
        return {
            "discovery": {"host": self.discovery.host, "port": self.discovery.port}
            if self.discovery is not None
            else None,
            "cameras": [camera.endpoints(self.discovery_port) for camera in self.cameras],
        }
