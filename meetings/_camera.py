"""A room camera as a meeting endpoint: a village reception room without a PC.

Its picture comes from the camera's stream hub (the sub stream when it has one) and is
decoded only while the camera is in the meeting — the hub lease and the decoder go when
it leaves.  Its microphone (G.711, or AAC decoded with the ``config`` of the camera's SDP)
is heard in the meeting like any site.  The meeting's
mix — without the room's own voice — plays through the camera's ONVIF backchannel: the
room takes the camera's talk floor for as long as it is in the meeting (a talker trying
meanwhile is told the meeting holds it), and :class:`sessions.TalkPump` paces it out as
20 ms G.711 packets.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from camera_registry import HubLease, StreamClosedError, Subscription
from media import MediaFrame, g711_decode
from meetings._mix import RATE
from meetings._tracks import AudioInbox, VideoInbox
from sessions import TalkPump

__all__ = ["AacMicrophone", "CameraFeed", "PcmTrack"]

log = logging.getLogger("gateway.meetings.camera")


class PcmTrack(MediaStreamTrack):
    """The mix a room camera hears, as 48 kHz mono PCM frames for a :class:`TalkPump`."""

    kind = "audio"

    def __init__(self, maxlen: int = 10) -> None:
        super().__init__()
        self._frames: deque[AudioFrame] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()

    def push(self, samples: np.ndarray[Any, Any], pts: int) -> None:
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = pts
        frame.time_base = Fraction(1, RATE)
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> AudioFrame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class AacMicrophone:
    """A camera's AAC microphone as PCM frames; synchronous PyAV work, one call at a time.

    Built from the audio track's ``config`` (hex AudioSpecificConfig from the SDP); a
    damaged access unit costs its 64 ms of sound, not the stream."""

    def __init__(self, config: str, *, sample_rate: int, channels: int = 1) -> None:
        try:
            extradata = binascii.unhexlify(config)
        except (binascii.Error, ValueError):
            raise ValueError(f"AAC config {config[:40]!r} is not hexadecimal") from None
        decoder: Any = av.CodecContext.create("aac", "r")
        decoder.extradata = extradata
        decoder.sample_rate = sample_rate
        decoder.layout = "stereo" if channels > 1 else "mono"
        self._decoder = decoder
        self.config = config
        self.errors = 0

    def decode(self, access_unit: bytes) -> list[AudioFrame]:
        try:
            frames = list(self._decoder.decode(av.Packet(access_unit)))
        except av.error.InvalidDataError:
            self.errors += 1
            return []
        for frame in frames:
            frame.pts = None  # the inbox resamples by sample count, not by timestamps
        return frames


class CameraFeed:
    """Reads a camera's hub for the room: decodes its video into ``video`` and its G.711
    microphone into ``audio``; plays ``mix`` into its speaker.  ``start()``/``close()``."""

    def __init__(
        self,
        lease: HubLease,
        send_talk: Callable[[bytes], None],
        codec: str,
        *,
        name: str,
        heard: Callable[[], None],
        speak: bool = True,
    ) -> None:
        self.lease = lease
        self.video = VideoInbox()
        self.audio = AudioInbox()
        self.mix = PcmTrack()
        self.pump = TalkPump(self.mix, send_talk, codec, name=f"meeting talk {name}")
        self._heard = heard
        self._speak = speak  # False: a listen-only camera (no backchannel) only shows
        self._name = name
        self._subscription: Subscription = lease.hub.subscribe(
            ("video", "audio"), max_frames=120, max_bytes=8 * 1024 * 1024
        )
        self._decoder: Any = None
        self._aac: AacMicrophone | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"meeting-camera-{name}")
        self._task: asyncio.Task[None] | None = None
        self.decoded = 0
        self.ended = asyncio.Event()

    def start(self) -> None:
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._read(), name=f"meeting camera {self._name}")
        if self._speak:
            self.pump.start()

    async def close(self) -> None:
        """Stop reading and playing, free the decoder and the hub lease; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pump.close()
        self.mix.stop()
        self._subscription.close()
        # Joining the decode thread waits for a frame in progress: off the loop.
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        self._decoder = None
        self.lease.release()

    def _decode(self, data: bytes, codec: str) -> list[VideoFrame]:
        if self._decoder is None or self._decoder.name != codec:
            self._decoder = av.CodecContext.create(codec, "r")
        try:
            return list(self._decoder.decode(av.Packet(data)))
        except av.error.InvalidDataError:
            return []  # a damaged access unit: the next keyframe repairs the picture

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        waiting_for_keyframe = True
        try:
            while True:
                frame: MediaFrame = await self._subscription.get()
                self._heard()
                if frame.kind == "audio":
                    if frame.codec == "MPEG4-GENERIC":
                        if not await self._hear_aac(frame):
                            return  # the pool shut down: leaving
                    else:
                        self._hear(frame)
                    continue
                if frame.kind != "video" or frame.codec not in ("H264", "H265"):
                    continue
                if frame.discontinuity:
                    waiting_for_keyframe = True
                if waiting_for_keyframe and not frame.keyframe:
                    continue
                waiting_for_keyframe = False
                codec = "h264" if frame.codec == "H264" else "hevc"
                try:
                    pictures = await loop.run_in_executor(
                        self._pool, self._decode, frame.data, codec
                    )
                except RuntimeError:
                    return  # the pool shut down: leaving
                for picture in pictures:
                    self.video.put(picture)
                    self.decoded += 1
        except StreamClosedError:
            log.info("the camera left the hub", extra={"camera": self._name})
        finally:
            self.ended.set()

    def _aac_decoder(self) -> AacMicrophone | None:
        """The decoder for the hub's current AAC track (a reconnect may change it)."""
        for track in self.lease.hub.tracks:
            if track.kind != "audio" or track.direction == "sendonly":
                continue
            config = track.fmtp.get("config", "")
            if track.codec != "MPEG4-GENERIC" or not config:
                continue
            if self._aac is None or self._aac.config != config:
                try:
                    self._aac = AacMicrophone(
                        config, sample_rate=track.clock_rate, channels=max(track.channels, 1)
                    )
                except ValueError:
                    log.warning(
                        "the camera's AAC config is unreadable", extra={"camera": self._name}
                    )
                    return None
            return self._aac
        return None

    async def _hear_aac(self, frame: MediaFrame) -> bool:
        """Decode one AAC access unit (in the feed's thread) into ``audio``; False when the
        feed is closing."""
        decoder = self._aac_decoder()
        if decoder is None:
            return True
        loop = asyncio.get_running_loop()
        try:
            frames = await loop.run_in_executor(self._pool, decoder.decode, frame.data)
        except RuntimeError:
            return False
        for audio in frames:
            self.audio.put(audio)
        return True

    def _hear(self, frame: MediaFrame) -> None:
        if frame.codec not in ("PCMU", "PCMA"):
            return
        samples = np.asarray(g711_decode(frame.data, frame.codec), dtype=np.int16)
        audio = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        audio.sample_rate = frame.clock_rate
        self.audio.put(audio)
