"""What a simulated camera is: identity, account, streams and fault switches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ROOM_NAMES",
    "CameraConfig",
    "FaultState",
    "PictureMode",
    "StreamProfile",
    "default_camera_config",
]


class PictureMode(StrEnum):
    LIVE = "live"  # drawn and encoded in real time: the wall clock shows end-to-end latency
    REPLAY = "replay"  # a clip encoded once and looped: dozens of cameras cost little


@dataclass(frozen=True, slots=True)
class StreamProfile:
    """Encoder settings of one RTSP stream (an ONVIF media profile)."""

    token: str  # ONVIF profile token and RTSP path segment: "main" or "sub"
    width: int
    height: int
    fps: int = 25
    bitrate: int = 4_000_000
    gop: int = 25  # frames between IDRs; 1 s keeps a new viewer's wait short

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width <= 0 or self.height <= 0:
            raise ValueError(f"resolution {self.width}x{self.height} must be positive and even")
        if not 1 <= self.fps <= 60:
            raise ValueError(f"frame rate {self.fps} must be between 1 and 60")
        if self.gop < 1:
            raise ValueError(f"GOP length {self.gop} must be at least one frame")


MAIN_STREAM = StreamProfile("main", 1920, 1080, 25, 4_000_000, 25)
SUB_STREAM = StreamProfile("sub", 640, 360, 25, 512_000, 25)


@dataclass(frozen=True, slots=True)
class CameraConfig:
    name: str
    username: str
    password: str
    serial: str
    manufacturer: str = "Zongzhi Simulated"
    model: str = "ZS-IPC-2T"  # two-way audio
    firmware: str = "V5.7.3 build 241105"
    host: str = "127.0.0.1"
    http_port: int = 0  # 0 = pick a free port at start, then keep it across reboots
    rtsp_port: int = 0
    mode: PictureMode = PictureMode.REPLAY
    main: StreamProfile = MAIN_STREAM
    sub: StreamProfile = SUB_STREAM
    session_timeout: int = 60  # seconds of RTSP silence before a session is dropped
    clip_seconds: int = 2  # replay clip length, rounded to whole GOPs
    mtu: int = 1400
    # Real cameras reject a WS-UsernameToken whose Created is far from their clock.
    max_clock_difference: float = 300.0
    endpoint_uuid: str = ""  # derived from name + serial when empty: stable across runs
    microphone_codec: str = "PCMU"  # or "AAC": AAC-LC 16 kHz mono, RFC 3640 AAC-hbr

    def __post_init__(self) -> None:
        if not self.endpoint_uuid:
            stable = uuid.uuid5(uuid.NAMESPACE_URL, f"zongzhi-simulator:{self.serial}:{self.name}")
            object.__setattr__(self, "endpoint_uuid", str(stable))
        if self.microphone_codec not in ("PCMU", "AAC"):
            raise ValueError(f"microphone codec must be PCMU or AAC, not {self.microphone_codec!r}")
        if not self.username or not self.password:
            raise ValueError(f"camera {self.name!r} needs its own username and password")

    @property
    def endpoint_reference(self) -> str:
        return f"urn:uuid:{self.endpoint_uuid}"

    @property
    def streams(self) -> tuple[StreamProfile, StreamProfile]:
        return (self.main, self.sub)

    def stream(self, token: str) -> StreamProfile | None:
        return next((s for s in self.streams if s.token == token), None)


@dataclass(slots=True)
class FaultState:
    """Switches tests flip to make a camera misbehave (one-shot actions live on the camera)."""

    stall: bool = False  # keep sockets open, send no media
    refuse_auth: bool = False  # every password is wrong (ONVIF, RTSP, snapshot)
    no_backchannel: bool = False  # 551 Option not supported to the backchannel Require
    clock_skew: float = 0.0  # seconds added to the camera clock

    def as_dict(self) -> dict[str, bool | float]:
        return {
            "stall": self.stall,
            "refuse_auth": self.refuse_auth,
            "no_backchannel": self.no_backchannel,
            "clock_skew": self.clock_skew,
        }


ROOM_NAMES: tuple[str, ...] = (
    "和平溪乡综治中心 调解室",
    "和平溪乡综治中心 群众接待室",
    "石门镇综治中心 调解室",
    "石门镇综治中心 群众接待室",
    "县综治中心 矛盾纠纷调解室",
    "县综治中心 群众接待室",
    "青山村综治中心 调解室",
    "白沙村综治中心 调解室",
    "柳林村综治中心 群众接待室",
    "南岭乡综治中心 调解室",
)


def default_camera_config(index: int, **overrides: object) -> CameraConfig:
    """The index-th camera of a fleet: its own room, account and serial number."""
    base = ROOM_NAMES[index % len(ROOM_NAMES)]
    lap = index // len(ROOM_NAMES)
    name = base if lap == 0 else f"{base}（{lap + 1}）"
    fields: dict[str, object] = {
        "name": name,
        "username": f"cam{index + 1:02d}",
        "password": f"Zz{index + 1:02d}{uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:10]}",
        "serial": f"ZS2T{index + 1:08d}",
    }
    fields.update(overrides)
    return CameraConfig(**fields)  # type: ignore[arg-type]
