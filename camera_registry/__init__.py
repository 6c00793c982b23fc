"""Cameras: registration (ONVIF or RTSP URL) and WS-Discovery, the asyncio RTSP client with
the ONVIF audio backchannel, the per-camera stream hub, ingest supervision (reconnects,
online/offline events), picture health, and the manager that runs every camera by id."""

from ._discovery import MULTICAST_TARGET, DiscoveredDevice, discover
from ._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraNotFoundError,
    CameraTimeoutError,
    InvalidStreamUrlError,
    MalformedMediaError,
    RtspStatusError,
    StreamClosedError,
)
from ._health import HealthSampler, PictureMetrics, PictureVerdict, judge, measure
from ._hub import StreamHub, Subscription
from ._ingest import BACKOFF_STEPS, CameraIngest, IngestEvent
from ._leases import CameraLeases, LeaseSettings, NodeRef
from ._manager import CameraManager, CameraSpec, CameraState, StateFeed, clock_warning
from ._metrics import CameraCollector
from ._models import Camera
from ._onvif import OnvifDevice, OnvifError, OnvifProfile, read_onvif_device
from ._probe import StreamProbe, fetch_snapshot, keyframe_jpeg, probe_stream
from ._registry import (
    CameraChanges,
    CameraRegistration,
    CameraRegistry,
    CameraView,
    OnvifAddress,
    load_camera_specs,
    split_rtsp_url,
)
from ._rtsp_client import RtspClient, RtspState
from ._stats import GapEvent, HubStats, IngestStats
from ._substream import STREAMS, HubLease, Stream, SubStream, UnknownStreamError, parse_stream

__all__ = [
    "BACKOFF_STEPS",
    "MULTICAST_TARGET",
    "STREAMS",
    "BackchannelUnavailableError",
    "Camera",
    "CameraAuthError",
    "CameraChanges",
    "CameraCollector",
    "CameraConnectionError",
    "CameraError",
    "CameraIngest",
    "CameraLeases",
    "CameraManager",
    "CameraNotFoundError",
    "CameraRegistration",
    "CameraRegistry",
    "CameraSpec",
    "CameraState",
    "CameraTimeoutError",
    "CameraView",
    "DiscoveredDevice",
    "GapEvent",
    "HealthSampler",
    "HubLease",
    "HubStats",
    "IngestEvent",
    "IngestStats",
    "InvalidStreamUrlError",
    "LeaseSettings",
    "MalformedMediaError",
    "NodeRef",
    "OnvifAddress",
    "OnvifDevice",
    "OnvifError",
    "OnvifProfile",
    "PictureMetrics",
    "PictureVerdict",
    "RtspClient",
    "RtspState",
    "RtspStateError",
    "RtspStatusError",
    "StateFeed",
    "Stream",
    "StreamClosedError",
    "StreamHub",
    "StreamProbe",
    "SubStream",
    "Subscription",
    "UnknownStreamError",
    "clock_warning",
    "discover",
    "fetch_snapshot",
    "judge",
    "keyframe_jpeg",
    "load_camera_specs",
    "measure",
    "parse_stream",
    "probe_stream",
    "read_onvif_device",
    "split_rtsp_url",
]
