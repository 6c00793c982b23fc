"""Test streams: a randomised RFC 6184 packetizer (an oracle independent of
``media.H264Packetizer``, the inverse of the depacketizer under test) and real x264 clips."""

from __future__ import annotations

import random
from fractions import Fraction

import av
import numpy as np

from media import build_rtp


def packetize_au(
    nals: list[bytes], *, mtu: int, rng: random.Random, allow_stap: bool = True
) -> list[bytes]:
    """RTP payloads for one access unit: single NAL, STAP-A groups and FU-A fragments."""
    payloads: list[bytes] = []
    i = 0
    while i < len(nals):
        nal = nals[i]
        if allow_stap and i + 1 < len(nals) and rng.random() < 0.5:
            group = [nal]
            size = 1 + 2 + len(nal)
            while i + len(group) < len(nals) and size + 2 + len(nals[i + len(group)]) <= mtu:
                group.append(nals[i + len(group)])
                size += 2 + len(group[-1])
                if rng.random() < 0.3:
                    break
            if len(group) > 1:
                stap = bytes([(max(n[0] & 0x60 for n in group)) | 24])
                for n in group:
                    stap += len(n).to_bytes(2, "big") + n
                payloads.append(stap)
                i += len(group)
                continue
        if len(nal) <= mtu and rng.random() < 0.7:
            payloads.append(nal)
        else:
            indicator = (nal[0] & 0xE0) | 28
            body = nal[1:]
            step = max(1, min(mtu - 2, rng.randint(1, max(1, len(body)))))
            chunks = [body[j : j + step] for j in range(0, len(body), step)] or [b""]
            for k, chunk in enumerate(chunks):
                fu = nal[0] & 0x1F
                if k == 0:
                    fu |= 0x80
                if k == len(chunks) - 1:
                    fu |= 0x40
                payloads.append(bytes([indicator, fu]) + chunk)
        i += 1
    return payloads


def rtp_stream(
    access_units: list[list[bytes]], *, mtu: int = 1200, seed: int = 0, ts_step: int = 3600
) -> list[bytes]:
    rng = random.Random(seed)
    seq = rng.randrange(0x10000)
    ts = rng.randrange(0x100000000)
    packets: list[bytes] = []
    for au in access_units:
        payloads = packetize_au(au, mtu=mtu, rng=rng)
        for k, payload in enumerate(payloads):
            packets.append(build_rtp(96, seq, ts, 0x1234, payload, marker=k == len(payloads) - 1))
            seq = (seq + 1) & 0xFFFF
        ts = (ts + ts_step) & 0xFFFFFFFF
    return packets


def encode_clip(frames: int, width: int, height: int, *, noise: bool = False) -> list[bytes]:
    """Annex-B access units from libx264 (no B-frames), like a camera's encoder; with
    ``noise`` every picture is random (large P-frames, several packets each)."""
    rng = np.random.default_rng(7)
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"bframes": "0", "g": "10", "tune": "zerolatency", "preset": "ultrafast"}
    out: list[bytes] = []
    for i in range(frames):
        img = (
            rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            if noise
            else np.full((height, width, 3), (i * 9) % 255, dtype=np.uint8)
        )
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out.extend(bytes(p) for p in codec.encode(frame))
    out.extend(bytes(p) for p in codec.encode(None))
    return out
