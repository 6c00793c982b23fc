"""AAC → Opus for cameras whose microphone sends AAC (browsers take no AAC over RTP).

Synchronous PyAV work (decode, resample to 48 kHz stereo in 20 ms frames, encode): the
caller runs :meth:`AacToOpus.feed` in a worker thread, one call at a time.
"""

from __future__ import annotations

import binascii

import av
from av.audio.codeccontext import AudioCodecContext
from av.audio.resampler import AudioResampler

__all__ = ["AacToOpus"]

OPUS_RATE = 48_000
OPUS_FRAME = 960  # 20 ms


class AacToOpus:
    """One camera audio stream's transcoder; keeps codec state between calls."""

    def __init__(self, config: str, *, sample_rate: int, channels: int = 1) -> None:
        try:
            extradata = binascii.unhexlify(config)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"AAC config {config!r} from the camera's SDP is not hexadecimal"
            ) from None
        decoder = av.CodecContext.create("aac", "r")
        assert isinstance(decoder, AudioCodecContext)
        decoder.extradata = extradata
        decoder.sample_rate = sample_rate
        decoder.layout = "stereo" if channels > 1 else "mono"
        self._decoder = decoder
        self._resampler = AudioResampler(
            format="s16", layout="stereo", rate=OPUS_RATE, frame_size=OPUS_FRAME
        )
        encoder = av.CodecContext.create("libopus", "w")
        assert isinstance(encoder, AudioCodecContext)
        encoder.bit_rate = 48_000
        encoder.format = "s16"
        encoder.layout = "stereo"
        encoder.sample_rate = OPUS_RATE
        encoder.options = {"application": "voip", "frame_duration": "20"}
        self._encoder = encoder
        self.errors = 0

    def feed(self, access_unit: bytes) -> list[bytes]:
        """One raw AAC access unit in, zero or more 20 ms Opus payloads out."""
        out: list[bytes] = []
        try:
            frames = self._decoder.decode(av.Packet(access_unit))
        except av.error.InvalidDataError:
            self.errors += 1  # a corrupt frame costs 20-40 ms of sound, not the stream
            return out
        for frame in frames:
            frame.pts = None
            for chunk in self._resampler.resample(frame):
                out.extend(bytes(packet) for packet in self._encoder.encode(chunk))
        return out
