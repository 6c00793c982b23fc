"""The restream's pure core: paths, Transport headers, SDP and Digest nonces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from media import TrackInfo, parse_sdp
from uplink import NonceBook, RestreamPath, parse_path, parse_transport
from uplink._restream_wire import TransportError, build_sdp, offered_tracks


def test_paths() -> None:
    assert parse_path("rtsp://10.0.0.2:8554/cameras/7") == RestreamPath(7, "main")
    assert parse_path("rtsp://u:p@h/cameras/7/sub/") == RestreamPath(7, "sub")
    assert parse_path("rtsp://h/cameras/7/sub/trackID=1?tcp") == RestreamPath(7, "sub", 1)
    assert parse_path("/cameras/12/trackID=0") == RestreamPath(12, "main", 0)
    for bad in ("rtsp://h/", "rtsp://h/cameras/", "rtsp://h/cameras/x", "rtsp://h/cameras/07",
                "rtsp://h/cameras/7/hd", "rtsp://h/cameras/7/trackID=0/x", "*"):  # fmt: skip
        assert parse_path(bad) is None, bad


@given(st.text(max_size=200))
def test_any_url_parses_or_is_refused(url: str) -> None:
    path = parse_path(url)
    assert path is None or (path.camera_id > 0 and path.stream in ("main", "sub"))


def test_transports() -> None:
    tcp = parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3", 0)
    assert tcp.tcp and tcp.interleaved == (2, 3)
    assert tcp.header(ssrc=0xAB) == "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=000000AB"
    assert parse_transport("RTP/AVP/TCP;unicast", 4).interleaved == (4, 5)
    udp = parse_transport("RTP/AVP;unicast;client_port=5000-5001", 0)
    assert not udp.tcp and udp.client_port == (5000, 5001)
    assert "server_port=6000-6001" in udp.header((6000, 6001))
    # the first alternative the server can serve wins
    both = parse_transport("RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1", 0)
    assert both.tcp
    for bad in (None, "", "RTP/AVP;unicast", "RAW/RAW/UDP;client_port=1-2",
                "RTP/AVP;multicast;port=5000-5001", "RTP/AVP/TCP;interleaved=x-1",
                "RTP/AVP/TCP;interleaved=300-301", "RTP/AVP;client_port=0-1"):  # fmt: skip
        try:
            parse_transport(bad, 0)
        except TransportError:
            continue
        raise AssertionError(f"accepted {bad!r}")


@given(st.text(max_size=300), st.integers(0, 254))
def test_any_transport_parses_or_raises_transport_error(value: str, channel: int) -> None:
    try:
        transport = parse_transport(value, channel)
    except TransportError:
        return
    assert transport.tcp == (transport.interleaved is not None)


def test_nonces() -> None:
    book = NonceBook(b"k" * 32, lifetime=300)
    nonce = book.issue(now=1000.0)
    assert book.check(nonce, now=1100.0) == "ok"
    assert book.check(nonce, now=1400.0) == "stale"
    assert NonceBook(b"x" * 32).check(nonce, now=1100.0) == "bad"  # another key
    assert book.check("bm90IGEgbm9uY2U=", now=1100.0) == "bad"
    assert book.check("%%%", now=1100.0) == "bad"


def test_sdp_offers_video_and_audio_but_not_the_backchannel() -> None:
    tracks = (
        TrackInfo("video", "H264", 96, 90000, 1, "trackID=0", "recvonly",
                  {"profile-level-id": "42e01f", "sprop-parameter-sets": "Z0LgH9oBQBbsBEAAAAMAQAAADKPEiWg=,aM4yyA=="}),
        TrackInfo("audio", "PCMA", 8, 8000, 1, "trackID=1", "recvonly", {}),
        TrackInfo("audio", "PCMU", 0, 8000, 1, "trackID=2", "sendonly", {}),
    )  # fmt: skip
    offered = offered_tracks(tracks)
    assert [(t.kind, t.source.codec, t.payload_type) for t in offered] == [
        ("video", "H264", 96),
        ("audio", "PCMA", 8),
    ]
    sdp = parse_sdp(build_sdp(offered, session_id=1, host="10.0.0.2", name="调解室\r\n1"))
    assert [m.kind for m in sdp.media] == ["video", "audio"]
    text = build_sdp(offered, session_id=1, host="10.0.0.2", name="x").decode()
    assert "packetization-mode=1" in text and "sprop-parameter-sets=Z0Lg" in text
    assert "a=control:trackID=1" in text and "\r\n\r\n" not in text
