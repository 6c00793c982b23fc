"""SDP parsing with the quirks cameras produce."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camera_registry._errors import MalformedMediaError
from camera_registry._sdp import parse_sdp, resolve_control

SPS = bytes.fromhex("6742c01fda0507ec05a8")
PPS = bytes.fromhex("68ce3c80")

# An ONVIF camera answering DESCRIBE with the backchannel Require header.
ONVIF_SDP = f"""v=0
o=- 1 1 IN IP4 192.168.1.64
s=Media Presentation
c=IN IP4 0.0.0.0
t=0 0
a=control:*
m=video 0 RTP/AVP 96
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets={base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}
a=control:trackID=1
m=audio 0 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=control:trackID=2
a=recvonly
m=audio 0 RTP/AVP 0 8 97
a=rtpmap:97 G726-32/8000
a=control:trackID=3
a=sendonly
""".replace("\n", "\r\n")


def test_onvif_sdp_tracks_and_backchannel() -> None:
    sdp = parse_sdp(ONVIF_SDP, "rtsp://cam/Streaming/Channels/101/")
    video, audio, back = sdp.media
    assert sdp.aggregate_url == "rtsp://cam/Streaming/Channels/101/"
    v = video.track()
    assert v is not None
    assert (v.kind, v.codec, v.clock_rate, v.payload_type) == ("video", "H264", 90000, 96)
    assert v.control_url == "rtsp://cam/Streaming/Channels/101/trackID=1"
    assert v.direction == "recvonly"  # no direction attribute
    assert v.profile_level_id == "420029"
    assert v.sprop_parameter_sets == (SPS, PPS)
    assert v.fmtp["packetization-mode"] == "1"
    a = audio.track()
    assert a is not None and (a.codec, a.clock_rate, a.channels) == ("PCMU", 8000, 1)
    assert back.direction == "sendonly"
    assert [t.codec for t in back.tracks()] == ["PCMU", "PCMA", "G726-32"]  # static PTs known


def test_content_base_absolute_and_session_controls() -> None:
    text = (
        "v=0\ns=x\na=control:rtsp://10.0.0.2/live/\n"
        "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=control:stream=0\n"
        "m=audio 0 RTP/AVP 8\na=control:rtsp://10.0.0.2/live/audio\n"
    )
    sdp = parse_sdp(text, "rtsp://10.0.0.2/live")
    assert sdp.aggregate_url == "rtsp://10.0.0.2/live/"
    assert sdp.media[0].control_url == "rtsp://10.0.0.2/live/stream=0"
    assert sdp.media[1].control_url == "rtsp://10.0.0.2/live/audio"
    assert sdp.media[1].track() is not None
    assert sdp.media[1].track().codec == "PCMA"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("base", "control", "expected"),
    [
        ("rtsp://h/a", "trackID=1", "rtsp://h/a/trackID=1"),
        ("rtsp://h/a/", "trackID=1", "rtsp://h/a/trackID=1"),
        ("rtsp://h:554/a/b", "*", "rtsp://h:554/a/b"),
        ("rtsp://h:554/a/b", None, "rtsp://h:554/a/b"),
        ("rtsp://h:554/a/b", "/other/track", "rtsp://h:554/other/track"),
        ("rtsp://h/a", "rtsp://x/y", "rtsp://x/y"),
    ],
)
def test_resolve_control(base: str, control: str | None, expected: str) -> None:
    assert resolve_control(base, control) == expected


def test_session_level_direction_and_lowercase_codec() -> None:
    sdp = parse_sdp("v=0\na=sendonly\nm=audio 0 RTP/AVP 96\na=rtpmap:96 pcmu/8000/1\n", "rtsp://h/")
    t = sdp.media[0].track()
    assert t is not None and t.direction == "sendonly" and t.codec == "PCMU"


def test_broken_sprop_is_skipped_not_fatal() -> None:
    sdp = parse_sdp(
        "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
        "a=fmtp:96 sprop-parameter-sets=!!!,aM48gA==\n",
        "rtsp://h/",
    )
    t = sdp.media[0].track()
    assert t is not None and t.sprop_parameter_sets == (PPS,)


@pytest.mark.parametrize("text", ["hello", "m=video\n", "v=0\nm=video x RTP/AVP 96\n"])
def test_malformed(text: str) -> None:
    with pytest.raises(MalformedMediaError):
        parse_sdp(text, "rtsp://h/")


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_garbage_raises_only_malformed(text: str) -> None:
    try:
        sdp = parse_sdp(text, "rtsp://h/x")
    except MalformedMediaError:
        return
    for m in sdp.media:
        for t in m.tracks():
            assert t.sprop_parameter_sets is not None


@given(st.lists(st.sampled_from(ONVIF_SDP.splitlines()), max_size=30))
@settings(max_examples=200)
def test_shuffled_camera_lines_raise_only_malformed(lines: list[str]) -> None:
    with contextlib.suppress(MalformedMediaError):
        parse_sdp("\n".join(lines), "rtsp://h/x")
