"""Simulated two-way-audio ONVIF cameras for the demo and the tests.

An independent peer of the gateway (it imports nothing of the product, not even the
``media`` toolkit: its RTSP, SDP, RTP and G.711 code is its own, written separately, so
that the tests check the gateway against a second reading of the specs): each camera
serves ONVIF Device/Media over SOAP 1.2, a snapshot JPEG, WS-Discovery, and RTSP with
H.264 + G.711 and the ONVIF audio backchannel, whose received audio it keeps for checks.

In-process::

    async with CameraFleet.create(3, clip_cache_dir=cache) as fleet:
        camera = fleet.cameras[0]
        camera.device_service_url, camera.rtsp_url("main"), camera.config.password
        camera.apply_faults({"no_backchannel": True})
        camera.sink.dominant_frequency()

From another process (``python -m simulator`` prints each camera's URLs as JSON):
``POST /sim/faults`` with any of ``{"stall": bool, "refuse_auth": bool,
"no_backchannel": bool, "clock_skew": seconds, "drop": true, "reboot": seconds}``;
``GET /sim/faults``; ``GET /sim/backchannel`` (summary of received talk audio);
``DELETE /sim/backchannel`` (clear it).
"""

from ._backchannel import BackchannelSink, dominant_frequency, rms_dbfs
from ._camera import SimulatedCamera
from ._clip import ClipLibrary, EncodedClip
from ._config import (
    ROOM_NAMES,
    CameraConfig,
    FaultState,
    PictureMode,
    StreamProfile,
    default_camera_config,
)
from ._fleet import CameraFleet
from ._g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from ._gb_media import MediaReceiver, rtp_header
from ._gb_platform import BroadcastAudio, DeviceRecord, PlayCall, SimulatedPlatform
from ._picture import read_time_code
from ._rtsp_server import BACKCHANNEL_OPTION

__all__ = [
    "BACKCHANNEL_OPTION",
    "ROOM_NAMES",
    "BackchannelSink",
    "BroadcastAudio",
    "CameraConfig",
    "CameraFleet",
    "ClipLibrary",
    "DeviceRecord",
    "EncodedClip",
    "FaultState",
    "MediaReceiver",
    "PictureMode",
    "PlayCall",
    "SimulatedCamera",
    "SimulatedPlatform",
    "StreamProfile",
    "alaw_decode",
    "alaw_encode",
    "default_camera_config",
    "dominant_frequency",
    "read_time_code",
    "rms_dbfs",
    "rtp_header",
    "ulaw_decode",
    "ulaw_encode",
]
