"""Cameras: the asyncio RTSP client with the ONVIF audio backchannel, the per-camera stream
hub, and ingest supervision (reconnects, online/offline events)."""

from ._audio import alaw_decode, alaw_encode, g711_decode, g711_encode, ulaw_decode, ulaw_encode
from ._errors import (
    BackchannelUnavailableError,
    CameraAuthError,
    CameraConnectionError,
    CameraError,
    CameraTimeoutError,
    InvalidStreamUrlError,
    MalformedMediaError,
    RtspStatusError,
    StreamClosedError,
)
from ._hub import HubStats, MediaFrame, StreamHub, Subscription
from ._ingest import BACKOFF_STEPS, CameraIngest, IngestEvent
from ._rtsp_client import RtspClient
from ._sdp import TrackInfo

__all__ = [
    "BACKOFF_STEPS",
    "BackchannelUnavailableError",
    "CameraAuthError",
    "CameraConnectionError",
    "CameraError",
    "CameraIngest",
    "CameraTimeoutError",
    "HubStats",
    "IngestEvent",
    "InvalidStreamUrlError",
    "MalformedMediaError",
    "MediaFrame",
    "RtspClient",
    "RtspStatusError",
    "StreamClosedError",
    "StreamHub",
    "Subscription",
    "TrackInfo",
    "alaw_decode",
    "alaw_encode",
    "g711_decode",
    "g711_encode",
    "ulaw_decode",
    "ulaw_encode",
]
