"""Read what registration needs from an ONVIF camera, with onvif-zeep-async (asyncio).

Device information, media profiles (H.264 main/sub) with their RTSP stream and snapshot
URIs, the speaker (audio outputs) and the codecs it decodes (audio decoder
configurations), and the camera clock offset from the unauthenticated
``GetSystemDateAndTime``.  The library is imported lazily and without its import-time
``logging.basicConfig``; its constructor's removal of proxy variables is undone.

Errors become camera errors people can act on: a refused password is
:class:`CameraAuthError`, an unreachable address :class:`CameraConnectionError`, a
camera that is not ONVIF (or answers nonsense) :class:`OnvifError`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import aiohttp

from camera_registry._errors import (
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
)
from core.errors import UnavailableError

__all__ = ["OnvifDevice", "OnvifError", "OnvifProfile", "read_onvif_device"]

_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


class OnvifError(CameraError, UnavailableError):
    """The address answers, but not as an ONVIF camera we can register."""

    code = "onvif_error"


@dataclass(frozen=True, slots=True)
class OnvifProfile:
    token: str
    name: str
    encoding: str  # "H264", "H265", "JPEG" …
    width: int
    height: int
    fps: int | None
    bitrate_kbps: int | None
    stream_uri: str
    snapshot_uri: str | None
    audio_encoding: str | None  # the microphone's codec in this profile ("G711" …)

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "name": self.name,
            "encoding": self.encoding,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "bitrate_kbps": self.bitrate_kbps,
            "stream_uri": self.stream_uri,
            "snapshot_uri": self.snapshot_uri,
            "audio_encoding": self.audio_encoding,
        }


@dataclass(frozen=True, slots=True)
class OnvifDevice:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str
    profiles: tuple[OnvifProfile, ...]  # H.264 profiles, largest picture first
    audio_outputs: tuple[str, ...]  # tokens of the speaker outputs
    audio_decoders: tuple[str, ...]  # codecs the speaker decodes ("G711", "AAC" …)
    clock_offset: float  # camera clock minus gateway clock, seconds

    @property
    def main(self) -> OnvifProfile:
        return self.profiles[0]

    @property
    def sub(self) -> OnvifProfile | None:
        return self.profiles[-1] if len(self.profiles) > 1 else None


def _import_onvif() -> ModuleType:
    """Import ``onvif`` without its ``logging.basicConfig`` touching our root logger."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)  # basicConfig() does nothing when the root has a handler
    try:
        import onvif
    finally:
        root.removeHandler(guard)
    module: ModuleType = onvif
    return module


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _camera_time(answer: Any) -> dt.datetime:
    utc = answer.UTCDateTime
    return dt.datetime(
        utc.Date.Year,
        utc.Date.Month,
        utc.Date.Day,
        utc.Time.Hour,
        utc.Time.Minute,
        utc.Time.Second,
        tzinfo=dt.UTC,
    )


async def _optional(call: Any, *args: Any) -> Any:
    """An optional ONVIF call: a camera without the feature answers a SOAP fault."""
    import zeep.exceptions

    try:
        return await call(*args)
    except zeep.exceptions.Fault:
        return None


async def read_onvif_device(
    host: str, port: int, username: str, password: str, *, time_limit: float = 20.0
) -> OnvifDevice:
    """Everything registration needs from the camera at ``host:port``."""
    # The first registration imports onvif-zeep (hundreds of files): off the loop.
    onvif = await asyncio.to_thread(_import_onvif)
    saved = {name: os.environ[name] for name in _PROXY_VARS if name in os.environ}
    try:
        camera = onvif.ONVIFCamera(host, port, username, password, adjust_time=True, no_cache=True)
    finally:
        os.environ.update(saved)  # the constructor drops proxy settings process-wide
    try:
        async with asyncio.timeout(time_limit):
            return await _read(camera, host, port)
    except TimeoutError:
        raise CameraTimeoutError(
            f"ONVIF camera at {host}:{port} did not answer within {time_limit:g} s"
        ) from None
    except CameraError:
        raise
    except Exception as exc:
        raise _translate(exc, host, port) from None
    finally:
        await camera.close()


def _translate(exc: Exception, host: str, port: int) -> CameraError:
    import zeep.exceptions
    from onvif.exceptions import ONVIFAuthError
    from onvif.util import is_auth_error

    if isinstance(exc, ONVIFAuthError) or is_auth_error(exc):
        return CameraAuthError(
            f"wrong password: the ONVIF camera at {host}:{port} refused the user name or "
            "password; use the camera's own account"
        )
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError | ConnectionError):
            return CameraConnectionError(
                f"cannot reach an ONVIF camera at {host}:{port}: {cause}; "
                "check the address and port"
            )
        if isinstance(cause, asyncio.TimeoutError | TimeoutError):
            return CameraTimeoutError(f"ONVIF camera at {host}:{port} did not answer in time")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, zeep.exceptions.Fault):
        return OnvifError(f"ONVIF camera at {host}:{port} answered a fault: {exc.message}")
    return OnvifError(
        f"{host}:{port} did not answer as an ONVIF device ({type(exc).__name__}: {exc}); "
        "check the port of its ONVIF service"
    )


async def _read(camera: Any, host: str, port: int) -> OnvifDevice:
    # The clock first, without credentials: a skewed camera clock breaks WS-UsernameToken,
    # and the offset is evidence worth keeping.  Measured at the round trip's midpoint.
    devicemgmt = await camera.create_devicemgmt_service()
    sent = time.time()
    answer = await devicemgmt.authless_GetSystemDateAndTime()
    received = time.time()
    camera_now = _camera_time(answer).timestamp() + 0.5  # it reports whole seconds
    clock_offset = camera_now - (sent + received) / 2

    await camera.update_xaddrs()  # the first authenticated call: a wrong password fails here
    devicemgmt = await camera.create_devicemgmt_service()
    info = await devicemgmt.GetDeviceInformation()
    media = await camera.create_media_service()
    profiles: list[OnvifProfile] = []
    for profile in await media.GetProfiles():
        video = profile.VideoEncoderConfiguration
        if video is None or _text(video.Encoding).upper() != "H264":
            continue
        uri = await media.GetStreamUri(
            {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": profile.token,
            }
        )
        snapshot = await _optional(media.GetSnapshotUri, {"ProfileToken": profile.token})
        rate = video.RateControl
        audio = profile.AudioEncoderConfiguration
        profiles.append(
            OnvifProfile(
                token=_text(profile.token),
                name=_text(profile.Name),
                encoding="H264",
                width=int(video.Resolution.Width),
                height=int(video.Resolution.Height),
                fps=int(rate.FrameRateLimit) if rate is not None else None,
                bitrate_kbps=int(rate.BitrateLimit) if rate is not None else None,
                stream_uri=_text(uri.Uri),
                snapshot_uri=_text(snapshot.Uri) if snapshot is not None else None,
                audio_encoding=_text(audio.Encoding) if audio is not None else None,
            )
        )
    if not profiles:
        raise OnvifError(
            f"ONVIF camera at {host}:{port} has no H.264 media profile; "
            "set one of its streams to H.264 (without B-frames)"
        )
    profiles.sort(key=lambda p: p.width * p.height, reverse=True)
    # onvif-zeep-async puts a profile's audio output/decoder configurations in
    # Profile.Extension._value_1 (an xs:any quirk), so ask the media service directly.
    outputs = await _optional(media.GetAudioOutputs) or []
    decoders = await _optional(media.GetAudioDecoderConfigurations) or []
    codecs: list[str] = []
    for decoder in decoders:
        options = await _optional(
            media.GetAudioDecoderConfigurationOptions,
            {"ConfigurationToken": decoder.token},
        )
        for name, codec in (("AACDecOptions", "AAC"), ("G711DecOptions", "G711")):
            if options is not None and getattr(options, name, None) is not None:
                codecs.append(codec)
    if decoders and not codecs:
        codecs.append("G711")  # decoder configurations without options: G.711 is mandatory
    return OnvifDevice(
        manufacturer=_text(info.Manufacturer),
        model=_text(info.Model),
        firmware=_text(info.FirmwareVersion),
        serial=_text(info.SerialNumber),
        hardware_id=_text(info.HardwareId),
        profiles=tuple(profiles),
        audio_outputs=tuple(_text(o.token) for o in outputs),
        audio_decoders=tuple(dict.fromkeys(codecs)),
        clock_offset=clock_offset,
    )
