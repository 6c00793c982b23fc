"""SDP: the quirks cameras produce, WebRTC offers, GB/T 28181 y=/f=, and round trips."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import SdpError, SdpMedia, SessionDescription, TrackInfo, parse_sdp, resolve_control
from media import rtsp_controls as controls_of

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


def camera_tracks(text: str, base: str) -> tuple[str, list[list[TrackInfo]]]:
    """What the RTSP client reads: the aggregate URL and each section's tracks, with the
    camera default for a section without a direction (media the camera sends)."""
    sdp = parse_sdp(text)
    aggregate, controls = controls_of(sdp, base)
    return aggregate, [
        m.tracks(control_url=c, direction=sdp.media_direction(m, "recvonly"))
        for m, c in zip(sdp.media, controls, strict=True)
    ]


def test_onvif_sdp_tracks_and_backchannel() -> None:
    aggregate, (video, audio, back) = camera_tracks(ONVIF_SDP, "rtsp://cam/Streaming/Channels/101/")
    assert aggregate == "rtsp://cam/Streaming/Channels/101/"
    v = video[0]
    assert (v.kind, v.codec, v.clock_rate, v.payload_type) == ("video", "H264", 90000, 96)
    assert v.control_url == "rtsp://cam/Streaming/Channels/101/trackID=1"
    assert v.direction == "recvonly"  # no direction attribute
    assert v.profile_level_id == "420029"
    assert v.sprop_parameter_sets == (SPS, PPS)
    assert v.fmtp["packetization-mode"] == "1"
    a = audio[0]
    assert (a.codec, a.clock_rate, a.channels) == ("PCMU", 8000, 1)
    assert {t.direction for t in back} == {"sendonly"}
    assert [t.codec for t in back] == ["PCMU", "PCMA", "G726-32"]  # static PTs known


def test_content_base_absolute_and_session_controls() -> None:
    text = (
        "v=0\ns=x\na=control:rtsp://10.0.0.2/live/\n"
        "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=control:stream=0\n"
        "m=audio 0 RTP/AVP 8\na=control:rtsp://10.0.0.2/live/audio\n"
    )
    aggregate, (video, audio) = camera_tracks(text, "rtsp://10.0.0.2/live")
    assert aggregate == "rtsp://10.0.0.2/live/"
    assert video[0].control_url == "rtsp://10.0.0.2/live/stream=0"
    assert audio[0].control_url == "rtsp://10.0.0.2/live/audio"
    assert audio[0].codec == "PCMA"


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
    _, [[t]] = camera_tracks(
        "v=0\na=sendonly\nm=audio 0 RTP/AVP 96\na=rtpmap:96 pcmu/8000/1\n", "rtsp://h/"
    )
    assert t.direction == "sendonly" and t.codec == "PCMU"


def test_broken_sprop_is_skipped_not_fatal() -> None:
    sdp = parse_sdp(
        "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
        "a=fmtp:96 sprop-parameter-sets=!!!,aM48gA==\n"
    )
    t = sdp.media[0].track()
    assert t is not None and t.sprop_parameter_sets == (PPS,)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "m=video\n",
        "v=0\nm=video x RTP/AVP 96\n",
        "v=0\nm=video -1 RTP/AVP 96\n",
        "v=0\nm=video 70000 RTP/AVP 96\n",
        "v=0\nm=video ² RTP/AVP 96\n",  # a Unicode digit is not a port
        "v=0\n" + "a=x\n" * 5000,
        "v=0\n" + "a=" + "x" * 70000 + "\n",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(SdpError):
        parse_sdp(text)


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_garbage_raises_only_sdp_error(text: str) -> None:
    try:
        sdp = parse_sdp(text)
        controls_of(sdp, "rtsp://h/x")
    except SdpError:
        return
    for m in sdp.media:
        for t in m.tracks():
            assert t.sprop_parameter_sets is not None


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_arbitrary_bytes_raise_only_sdp_error(data: bytes) -> None:
    try:
        sdp = parse_sdp(data)
    except SdpError:
        return
    assert parse_sdp(sdp.encode()) == sdp


@given(st.lists(st.sampled_from(ONVIF_SDP.splitlines()), max_size=30))
@settings(max_examples=200)
def test_shuffled_camera_lines_raise_only_malformed(lines: list[str]) -> None:
    with contextlib.suppress(SdpError):
        parse_sdp("\n".join(lines))


@given(st.lists(st.sampled_from(ONVIF_SDP.splitlines()), max_size=30))
@settings(max_examples=200)
def test_parse_encode_round_trips(lines: list[str]) -> None:
    try:
        sdp = parse_sdp("\n".join(lines))
    except SdpError:
        return
    assert parse_sdp(sdp.encode()) == sdp


def test_camera_sdp_encodes_back_line_for_line() -> None:
    assert parse_sdp(ONVIF_SDP).encode() == ONVIF_SDP


# A WebRTC offer from Chromium (trimmed): directions default to sendrecv there.
WEBRTC_OFFER = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
m=video 9 UDP/TLS/RTP/SAVPF 96 102
c=IN IP4 0.0.0.0
a=mid:0
a=recvonly
a=rtpmap:96 VP8/90000
a=rtpmap:102 H264/90000
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8
c=IN IP4 0.0.0.0
a=mid:1
a=rtpmap:111 opus/48000/2
a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host
""".replace("\n", "\r\n")


def test_webrtc_offer() -> None:
    sdp = parse_sdp(WEBRTC_OFFER)
    video, audio = sdp.media
    assert (video.kind, video.protocol, video.port) == ("video", "UDP/TLS/RTP/SAVPF", 9)
    assert video.codecs == ("VP8", "H264")
    assert sdp.media_direction(video, "sendrecv") == "recvonly"
    assert sdp.media_direction(audio, "sendrecv") == "sendrecv"
    assert audio.codecs == ("OPUS", "PCMU", "PCMA")  # static types without rtpmap
    assert audio.attribute("mid") == "1" and audio.connection == "0.0.0.0"
    assert audio.attributes("candidate") == ["1 1 udp 2122260223 192.0.2.1 50000 typ host"]
    assert sdp.encode() == WEBRTC_OFFER


# GB/T 28181 live INVITE from a wvp-style platform (../shared/protocols/gb28181.md §5.2).
GB_INVITE = """v=0
o=34020000001180000001 0 0 IN IP4 192.168.1.10
s=Play
c=IN IP4 192.168.1.10
t=0 0
m=video 30012 TCP/RTP/AVP 96 97 98 99
a=recvonly
a=rtpmap:96 PS/90000
a=rtpmap:98 H264/90000
a=rtpmap:97 MPEG4/90000
a=rtpmap:99 H265/90000
a=setup:passive
a=connection:new
y=0200009319
f=v/2/4/25/1/4096a/1/8/1
"""


def test_gb28181_invite_and_answer() -> None:
    sdp = parse_sdp(GB_INVITE)
    assert sdp.session_name == "Play" and sdp.connection == "192.168.1.10"
    assert sdp.ssrc == "0200009319" and sdp.media_format == "v/2/4/25/1/4096a/1/8/1"
    (video,) = sdp.media
    assert (video.port, video.protocol, video.attribute("setup")) == (
        30012,
        "TCP/RTP/AVP",
        "passive",
    )
    assert video.rtpmap[96] == ("PS", 90000, 1)
    assert sdp.timing == (0, 0)
    answer = SessionDescription(
        lines=(
            ("v", "0"),
            ("o", "34020000001320000001 0 0 IN IP4 10.0.0.5"),
            ("s", "Play"),
            ("c", "IN IP4 10.0.0.5"),
            ("t", "0 0"),
        ),
        media=(
            SdpMedia(
                "video",
                40000,
                "TCP/RTP/AVP",
                ("96",),
                (
                    ("a", "setup:active"),
                    ("a", "connection:new"),
                    ("a", "sendonly"),
                    ("a", "rtpmap:96 PS/90000"),
                ),
            ),
        ),
        ssrc=sdp.ssrc,
        media_format="",
    )
    text = answer.encode()
    assert text.endswith("y=0200009319\r\nf=\r\n")  # y= and f= last: platforms stop at y=
    assert parse_sdp(text) == answer


def test_gb28181_y_inside_the_media_section_is_still_the_session_ssrc() -> None:
    sdp = parse_sdp(
        "v=0\ns=Playback\nu=34020000001310000001:0\nt=1515435056 1515435236\n"
        "m=video 9910 RTP/AVP 96\ny=1000000001\na=recvonly\n"
    )
    assert sdp.ssrc == "1000000001" and sdp.uri == "34020000001310000001:0"
    assert sdp.timing == (1515435056, 1515435236)
    assert sdp.media[0].direction == "recvonly"
