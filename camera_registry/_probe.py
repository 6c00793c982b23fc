"""Registration probes: what a camera's RTSP stream offers, and a snapshot picture.

:func:`probe_stream` runs one full RTSP negotiation (DESCRIBE with the ONVIF backchannel
Require header, SETUP of every usable track including the backchannel, PLAY) and tears it
down: it proves the credentials work for streaming, that the video is H.264, and whether
the camera accepts a talk-back track — the talk capability stored with the camera.

:func:`fetch_snapshot` reads the camera's ONVIF snapshot URI (HTTP digest or basic auth);
:func:`keyframe_jpeg` makes a JPEG from the hub's cached keyframe when there is no such
URI or it fails.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import cv2

from camera_registry._errors import (
    CameraAuthError,
    CameraConnectionError,
    CameraTimeoutError,
    StreamClosedError,
)
from camera_registry._health import decode_keyframe
from camera_registry._hub import StreamHub
from camera_registry._rtsp_client import RtspClient
from media import MediaFrame, TrackInfo

__all__ = ["StreamProbe", "fetch_snapshot", "keyframe_jpeg", "probe_stream"]


@dataclass(frozen=True, slots=True)
class StreamProbe:
    tracks: tuple[TrackInfo, ...]  # what the gateway receives (H.264, G.711/AAC)
    backchannel: TrackInfo | None  # the talk track the gateway would use
    backchannel_codecs: tuple[str, ...]  # every codec the camera offered for talk
    listen_only_reason: str | None
    server: str

    @property
    def talk(self) -> bool:
        return self.backchannel is not None


def _ignore(_frame: MediaFrame) -> None:
    pass


async def probe_stream(
    url: str,
    username: str | None,
    password: str | None,
    *,
    backchannel: bool = True,
    request_timeout: float = 10.0,
) -> StreamProbe:
    """Negotiate a session with the camera and tear it down; raises a CameraError."""
    client = RtspClient(
        url,
        on_frame=_ignore,
        username=username,
        password=password,
        backchannel=backchannel,
        request_timeout=request_timeout,
    )
    try:
        await client.start()
        return StreamProbe(
            tracks=client.tracks,
            backchannel=client.backchannel,
            backchannel_codecs=tuple(dict.fromkeys(t.codec for t in client.backchannel_offer)),
            listen_only_reason=client.listen_only_reason if client.backchannel is None else None,
            server=client.server,
        )
    finally:
        await client.close()


async def fetch_snapshot(
    uri: str, username: str | None, password: str | None, *, time_limit: float = 10.0
) -> bytes:
    """GET the camera's snapshot URI with HTTP digest (or basic) auth; the JPEG bytes."""
    middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
    if username:
        middlewares = (aiohttp.DigestAuthMiddleware(username, password or ""),)
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=time_limit), middlewares=middlewares
            ) as http,
            http.get(uri) as response,
        ):
            if response.status == 401:
                raise CameraAuthError(
                    "wrong password: the camera refused the snapshot request's credentials"
                )
            if response.status != 200:
                raise CameraConnectionError(
                    f"camera answered {response.status} {response.reason} to the snapshot request"
                )
            body = await response.read()
    except TimeoutError:
        raise CameraTimeoutError(f"camera sent no snapshot within {time_limit:g} s") from None
    except aiohttp.ClientError as exc:
        raise CameraConnectionError(f"cannot fetch the camera snapshot: {exc}") from None
    if body[:2] != b"\xff\xd8":
        raise CameraConnectionError("the camera's snapshot URI did not return a JPEG picture")
    return body


def _encode_jpeg(data: bytes, size: tuple[int, int] | None) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", decode_keyframe(data, size), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("OpenCV could not encode the decoded keyframe as JPEG")
    return bytes(jpeg.tobytes())


async def keyframe_jpeg(
    hub: StreamHub, *, size: tuple[int, int] | None = None, wait: float = 5.0
) -> bytes:
    """A JPEG of the hub's newest keyframe (cached GOP, or the next one), decoded off-loop."""
    try:
        sub = hub.subscribe({"video"}, max_frames=200)
    except StreamClosedError:
        raise CameraConnectionError("the camera is not streaming; no picture to show") from None
    try:
        async with asyncio.timeout(wait):
            frame = await sub.get()  # subscriptions start at a keyframe
    except TimeoutError:
        raise CameraTimeoutError(
            f"no picture from the camera within {wait:g} s; it may be offline"
        ) from None
    finally:
        sub.close()
    return await asyncio.to_thread(_encode_jpeg, frame.data, size)
