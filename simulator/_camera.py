"""One simulated two-way-audio ONVIF camera: SOAP + snapshot over HTTP, RTSP with backchannel.

Owns its HTTP site, RTSP server, live encoders and (optionally) a discovery responder;
``start()``/``close()`` are idempotent and leave no task behind.  Fault knobs act through
:meth:`apply_faults` (Python) or ``POST /sim/faults`` (another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from ._audio import aac_program, microphone_program
from ._auth import Credentials, DigestChallenge
from ._backchannel import BackchannelSink
from ._clip import ClipLibrary
from ._config import CameraConfig, FaultState, PictureMode
from ._discovery import DiscoveryResponder
from ._http import build_http_app
from ._live import LiveSource, probe_parameter_sets
from ._onvif_device import DeviceView, scopes
from ._picture import Painter
from ._rtsp_server import RtspContext, RtspServer, StreamFeed
from ._wsdiscovery import DiscoveryInfo

__all__ = ["SimulatedCamera"]

logger = logging.getLogger(__name__)

_SWITCHES = ("stall", "refuse_auth", "no_backchannel")


class SimulatedCamera:
    def __init__(
        self,
        config: CameraConfig,
        *,
        clips: ClipLibrary | None = None,
        discovery_port: int | None = None,
    ) -> None:
        self.config = config
        self.faults = FaultState()
        self.sink = BackchannelSink()
        self.credentials = Credentials(config.username, config.password)
        realm = f"IP Camera({config.serial[-6:]})"
        self.http_challenge = DigestChallenge(realm, secrets.token_bytes(16), qop=True)
        self.boot_count = 0
        self.http_port = config.http_port
        self._clips = clips if clips is not None else ClipLibrary()
        self._owns_clips = clips is None
        self._discovery_port = discovery_port
        self._discovery: DiscoveryResponder | None = None
        self._live: list[LiveSource] = []
        self._rtsp_ctx: RtspContext | None = None
        self._rtsp: RtspServer | None = None
        self._runner: web.AppRunner | None = None
        self._started = False
        self._online = False
        self._reboot_task: asyncio.Task[None] | None = None
        self._painters: dict[str, Painter] = {}
        self._snapshot_lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            feeds = await self._prepare_feeds()
            self._rtsp_ctx = RtspContext(
                config=self.config,
                faults=self.faults,
                credentials=self.credentials,
                challenge=DigestChallenge(self.http_challenge.realm, secrets.token_bytes(16)),
                feeds=feeds,
                microphone=microphone_program(),
                sink=self.sink,
                aac=aac_program() if self.config.microphone_codec == "AAC" else None,
            )
            self._rtsp = RtspServer(self._rtsp_ctx)
            await self._start_services()
            if self._discovery_port is not None:
                self._discovery = DiscoveryResponder(
                    self._discovery_infos, self.config.host, self._discovery_port
                )
                await self._discovery.start()
        except BaseException:
            await self.close()
            raise

    async def _prepare_feeds(self) -> dict[str, StreamFeed]:
        feeds: dict[str, StreamFeed] = {}
        for stream in self.config.streams:
            if self.config.mode is PictureMode.REPLAY:
                clip = await self._clips.get(stream, self.config.clip_seconds, self.config.mtu)
                feeds[stream.token] = StreamFeed(clip.video, clip=clip)
            else:
                video = await asyncio.to_thread(probe_parameter_sets, stream)
                subtitle = f"{self.config.serial} · {stream.width}x{stream.height} · 实时"
                live = LiveSource(self.config.name, subtitle, stream, self.config.mtu)
                self._live.append(live)
                feeds[stream.token] = StreamFeed(video, live=live)
        return feeds

    async def _start_services(self) -> None:
        assert self._rtsp is not None and self._rtsp_ctx is not None
        self.boot_count += 1
        self._rtsp_ctx.ssrcs.clear()  # a rebooted camera starts new RTP streams
        self._rtsp_ctx.backchannel_holder = None
        runner = web.AppRunner(build_http_app(self), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.host, self.http_port))
        except OSError:
            sock.close()
            raise
        self.http_port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        await self._rtsp.start()
        self._online = True

    async def _stop_services(self) -> None:
        self._online = False
        if self._rtsp is not None:
            await self._rtsp.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def close(self) -> None:
        self._started = False
        task, self._reboot_task = self._reboot_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_services()
        if self._discovery is not None:
            await self._discovery.close()
            self._discovery = None
        for live in self._live:
            await live.close()
        self._live.clear()
        if self._owns_clips:
            await self._clips.close()

    async def __aenter__(self) -> SimulatedCamera:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- faults -----------------------------------------------------------------------------
    def drop_connections(self) -> None:
        """Reset every RTSP connection now (the camera stays up; clients must reconnect)."""
        if self._rtsp is not None:
            self._rtsp.drop_connections()

    def reboot(self, downtime: float = 2.0) -> asyncio.Task[None]:
        """Go offline (all sockets closed) and come back after ``downtime`` seconds.

        Returns the task; await it to wait until the camera is back.  A camera that comes
        back has new SSRCs and sequence numbers, as real ones do.
        """
        if downtime < 0:
            raise ValueError(f"reboot downtime {downtime} must not be negative")
        if self._reboot_task is not None and not self._reboot_task.done():
            return self._reboot_task
        self._reboot_task = asyncio.create_task(self._reboot(downtime), name="camera-reboot")
        return self._reboot_task

    async def _reboot(self, downtime: float) -> None:
        await asyncio.sleep(0.05)  # let the HTTP reply that asked for the reboot go out
        logger.info("camera %s rebooting for %.1f s", self.config.name, downtime)
        await self._stop_services()
        await asyncio.sleep(downtime)
        if self._started:
            await self._start_services()

    def apply_faults(self, changes: dict[str, Any]) -> dict[str, object]:
        """Apply knobs: stall, refuse_auth, no_backchannel (bool), clock_skew (s),
        and the actions drop (true) and reboot (downtime in seconds)."""
        unknown = set(changes) - {*_SWITCHES, "clock_skew", "drop", "reboot"}
        if unknown:
            raise ValueError(
                f"unknown fault knobs {sorted(unknown)}; known: {[*_SWITCHES, 'clock_skew', 'drop', 'reboot']}"
            )
        for key in _SWITCHES:
            if key in changes:
                if not isinstance(changes[key], bool):
                    raise ValueError(f"fault {key} must be true or false")
                setattr(self.faults, key, changes[key])
        if "clock_skew" in changes:
            skew = changes["clock_skew"]
            if not isinstance(skew, int | float) or isinstance(skew, bool):
                raise ValueError("clock_skew must be a number of seconds")
            self.faults.clock_skew = float(skew)
        actions: list[str] = []
        if changes.get("drop"):
            self.drop_connections()
            actions.append("drop")
        if "reboot" in changes:
            downtime = changes["reboot"]
            if not isinstance(downtime, int | float) or isinstance(downtime, bool):
                raise ValueError("reboot must be the downtime in seconds")
            self.reboot(float(downtime))
            actions.append("reboot")
        return {**self.faults.as_dict(), "actions": actions}

    # -- what the services need -------------------------------------------------------------
    @property
    def online(self) -> bool:
        return self._online

    @property
    def rtsp_port(self) -> int:
        return self._rtsp.port if self._rtsp is not None else self.config.rtsp_port

    @property
    def http_base(self) -> str:
        return f"http://{self.config.host}:{self.http_port}"

    @property
    def device_service_url(self) -> str:
        return f"{self.http_base}/onvif/device_service"

    @property
    def control_url(self) -> str:
        return f"{self.http_base}/sim/faults"

    def rtsp_url(self, token: str = "main") -> str:
        return f"rtsp://{self.config.host}:{self.rtsp_port}/Streaming/{token}"

    def snapshot_url(self, token: str = "main") -> str:
        return f"{self.http_base}/onvif/snapshot?profile={token}"

    def device_view(self) -> DeviceView:
        tokens = [s.token for s in self.config.streams]
        return DeviceView(
            config=self.config,
            device_xaddr=self.device_service_url,
            media_xaddr=f"{self.http_base}/onvif/media_service",
            rtsp_urls={t: self.rtsp_url(t) for t in tokens},
            snapshot_urls={t: self.snapshot_url(t) for t in tokens},
        )

    def camera_now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.faults.clock_skew)

    async def snapshot_jpeg(self, token: str) -> bytes:
        stream = self.config.stream(token)
        if stream is None:
            raise ValueError(f"no media profile {token!r}; use main or sub")
        async with self._snapshot_lock:
            painter = self._painters.get(token)
            if painter is None:
                painter = await asyncio.to_thread(
                    Painter,
                    self.config.name,
                    f"{self.config.serial} · 快照",
                    stream.width,
                    stream.height,
                )
                self._painters[token] = painter
            return await asyncio.to_thread(painter.jpeg, self.camera_now().timestamp())

    def discovery_info(self) -> DiscoveryInfo | None:
        if not self._online:
            return None
        return DiscoveryInfo(
            endpoint_reference=self.config.endpoint_reference,
            xaddrs=(self.device_service_url,),
            scopes=tuple(scopes(self.config)),
            metadata_version=self.boot_count,
        )

    def _discovery_infos(self) -> list[DiscoveryInfo]:
        info = self.discovery_info()
        return [info] if info is not None else []

    def endpoints(self, discovery_port: int | None = None) -> dict[str, object]:
        """The JSON-able description a gateway (or a test) needs to reach this camera."""
        port = (
            discovery_port
            if discovery_port is not None
            else (self._discovery.port if self._discovery is not None else None)
        )
        return {
            "name": self.config.name,
            "endpoint_reference": self.config.endpoint_reference,
            "manufacturer": self.config.manufacturer,
            "model": self.config.model,
            "serial": self.config.serial,
            "mode": self.config.mode.value,
            "onvif": {"host": self.config.host, "port": self.http_port},
            "device_service": self.device_service_url,
            "rtsp": {s.token: self.rtsp_url(s.token) for s in self.config.streams},
            "snapshot": {s.token: self.snapshot_url(s.token) for s in self.config.streams},
            "username": self.config.username,
            "password": self.config.password,
            "discovery_port": port,
            "control_url": self.control_url,
            "backchannel_url": f"{self.http_base}/sim/backchannel",
        }
