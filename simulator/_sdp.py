"""The SDP a simulated camera answers DESCRIBE with (RFC 4566, RFC 6184, ONVIF streaming).

Pure code.  Directions follow the ONVIF convention: the camera's video and microphone are
``recvonly`` for the client, the speaker backchannel is ``sendonly`` (the client sends).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AUDIO_TRACK",
    "BACKCHANNEL_PAYLOAD_TYPES",
    "BACKCHANNEL_TRACK",
    "VIDEO_PAYLOAD_TYPE",
    "VIDEO_TRACK",
    "SdpVideo",
    "build_sdp",
    "sprop_parameter_sets",
]

VIDEO_TRACK = 0
AUDIO_TRACK = 1
BACKCHANNEL_TRACK = 2
VIDEO_PAYLOAD_TYPE = 96
PCMU = 0
PCMA = 8
AAC = 97
BACKCHANNEL_PAYLOAD_TYPES = (PCMU, PCMA)


@dataclass(frozen=True, slots=True)
class SdpVideo:
    sps: bytes
    pps: bytes
    fps: int
    width: int
    height: int

    @property
    def profile_level_id(self) -> str:
        if len(self.sps) < 4:
            raise ValueError("SPS is shorter than 4 bytes; it carries no profile or level")
        return self.sps[1:4].hex()


def sprop_parameter_sets(parameter_sets: Sequence[bytes]) -> str:
    return ",".join(base64.b64encode(nal).decode() for nal in parameter_sets)


def build_sdp(
    session_id: int,
    host: str,
    title: str,
    video: SdpVideo,
    backchannel: bool,
    *,
    aac_config: str | None = None,
) -> str:
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {host}",
        f"s={title}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "a=range:npt=now-",
        f"m=video 0 RTP/AVP {VIDEO_PAYLOAD_TYPE}",
        f"a=rtpmap:{VIDEO_PAYLOAD_TYPE} H264/90000",
        f"a=fmtp:{VIDEO_PAYLOAD_TYPE} packetization-mode=1;profile-level-id="
        f"{video.profile_level_id};sprop-parameter-sets={sprop_parameter_sets((video.sps, video.pps))}",
        f"a=framerate:{video.fps}",
        f"a=x-dimensions:{video.width},{video.height}",
        f"a=control:trackID={VIDEO_TRACK}",
        "a=recvonly",
    ]
    if aac_config is None:
        lines += [f"m=audio 0 RTP/AVP {PCMU}", f"a=rtpmap:{PCMU} PCMU/8000", "a=ptime:20"]
    else:
        lines += [
            f"m=audio 0 RTP/AVP {AAC}",
            f"a=rtpmap:{AAC} MPEG4-GENERIC/16000/1",
            f"a=fmtp:{AAC} streamtype=5;profile-level-id=15;mode=AAC-hbr;config={aac_config};"
            "sizelength=13;indexlength=3;indexdeltalength=3",
        ]
    lines += [f"a=control:trackID={AUDIO_TRACK}", "a=recvonly"]
    if backchannel:
        lines += [
            f"m=audio 0 RTP/AVP {' '.join(str(pt) for pt in BACKCHANNEL_PAYLOAD_TYPES)}",
            f"a=rtpmap:{PCMU} PCMU/8000",
            f"a=rtpmap:{PCMA} PCMA/8000",
            f"a=control:trackID={BACKCHANNEL_TRACK}",
            "a=sendonly",
        ]
    return "\r\n".join(lines) + "\r\n"
