"""The pure cores of sessions: offer checks, candidate copies, the timeline, the floor."""

from __future__ import annotations

import pytest

from sessions import InvalidOfferError, TalkFloorBusyError
from sessions._floor import FloorHolder, TalkFloors
from sessions._sdp import add_host_candidates, check_talk_offer, check_view_offer, talk_codec_order
from sessions._timeline import Timeline

OFFER = """v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
t=0 0
m=video 9 UDP/TLS/RTP/SAVPF 96 102
a=recvonly
a=rtpmap:96 VP8/90000
a=rtpmap:102 H264/90000
m=audio 9 UDP/TLS/RTP/SAVPF 111 0
a=sendrecv
a=rtpmap:111 opus/48000/2
a=rtpmap:0 PCMU/8000
"""


def test_view_offer_needs_h264_video_it_can_receive() -> None:
    media = check_view_offer(OFFER)
    assert [(m.kind, m.direction) for m in media] == [("video", "recvonly"), ("audio", "sendrecv")]
    with pytest.raises(InvalidOfferError, match=r"H\.264"):
        check_view_offer(OFFER.replace("a=rtpmap:102 H264/90000\n", ""))
    with pytest.raises(InvalidOfferError, match="receives no video"):
        check_view_offer(OFFER.replace("a=recvonly", "a=sendonly"))
    with pytest.raises(InvalidOfferError, match="v=0"):
        check_view_offer("hello")
    with pytest.raises(InvalidOfferError, match="larger"):
        check_view_offer("v=0\n" + "a=x\n" * 20000)


def test_talk_offer_needs_a_microphone() -> None:
    assert check_talk_offer(OFFER)
    with pytest.raises(InvalidOfferError, match="sends no audio"):
        check_talk_offer(OFFER.replace("a=sendrecv", "a=recvonly"))
    assert talk_codec_order("PCMA") == ["audio/PCMA", "audio/PCMU", "audio/opus"]
    assert talk_codec_order("PCMU")[0] == "audio/PCMU"


def test_extra_host_candidates_copy_port_and_lower_priority() -> None:
    sdp = (
        "v=0\r\nm=video 9 x 96\r\n"
        "a=candidate:abc 1 udp 2130706431 192.0.2.2 50000 typ host\r\n"
        "a=candidate:def 1 udp 1694498815 198.51.100.7 50000 typ srflx raddr 0.0.0.0 rport 0\r\n"
    )
    out = add_host_candidates(sdp, ("203.0.113.9",))
    assert "a=candidate:abcx1 1 udp 2130706430 203.0.113.9 50000 typ host" in out.split("\r\n")
    assert out.count("typ srflx") == 1
    assert add_host_candidates(sdp, ("192.0.2.2",)) == sdp
    with pytest.raises(ValueError):
        add_host_candidates(sdp, ("not-an-ip",))


def test_timeline_squeezes_backlog_and_survives_restarts() -> None:
    line = Timeline(90000, started=100.0)
    # A cached GOP that arrived before the viewer: 1 ms apart.
    assert [line.place(ts, 99.0, discontinuity=False, now=100.0) for ts in (0, 3600, 7200)] == [
        0,
        90,
        180,
    ]
    # The first live frame continues by wall time; the following follow the camera clock.
    first = line.place(10800, 100.04, discontinuity=False, now=100.04)
    assert first == 180 + 3600
    assert line.place(14400, 100.08, discontinuity=False, now=100.08) == first + 3600
    # The camera reconnects with a new random timestamp: continue by the 2 s that passed.
    after = line.place(123456789, 102.1, discontinuity=True, now=102.1)
    assert after == first + 3600 + round(2.02 * 90000)
    assert line.place(123456789 + 3600, 102.14, discontinuity=False, now=102.14) == after + 3600
    # Backwards without a marked discontinuity: still forward.
    assert line.place(5, 102.18, discontinuity=False, now=102.18) > after + 3600


def test_floor_one_talker_takeover_and_same_person_replaces() -> None:
    floors = TalkFloors()
    a = FloorHolder("s1", "user:a", "a", 1.0)
    assert floors.claim("7", a, takeover=False) is None
    with pytest.raises(TalkFloorBusyError) as busy:
        floors.claim("7", FloorHolder("s2", "user:b", "b", 2.0), takeover=False)
    assert busy.value.holder == "a"
    again = FloorHolder("s3", "user:a", "a", 3.0)
    assert floors.claim("7", again, takeover=False) == a  # a reloaded page replaces itself
    chair = FloorHolder("s4", "user:c", "c", 4.0)
    assert floors.claim("7", chair, takeover=True) == again
    assert not floors.release("7", "s3") and floors.release("7", "s4")
    assert floors.holder("7") is None
