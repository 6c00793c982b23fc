"""Pure wire code: RTSP parsing, RTP/H.264 packetization, SDP, credentials, WS-Discovery."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from simulator._auth import (
    Credentials,
    DigestChallenge,
    UsernameToken,
    check_authorization,
    verify_username_token,
)
from simulator._rtp import build_burst, h264_payloads, parse_rtp, split_annexb, stamp_burst
from simulator._rtsp_wire import InterleavedFrame, RtspRequest, RtspServerParser, parse_transport
from simulator._wsdiscovery import DiscoveryInfo, matches, parse_probe

STREAM = (
    b"OPTIONS rtsp://h/Streaming/main RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    + b"$\x04\x00\x05hello"
    + b"SET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 4\r\n\r\nab\r\n"
    + b"$\x05\x00\x00"
)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), unique=True, max_size=8))
def test_rtsp_parser_is_independent_of_chunking(cuts: list[int]) -> None:
    parser = RtspServerParser()
    messages: list[RtspRequest | InterleavedFrame] = []
    edges = [0, *sorted(cuts), len(STREAM)]
    for start, end in itertools.pairwise(edges):
        messages += parser.feed(STREAM[start:end])
    assert [type(m).__name__ for m in messages] == [
        "RtspRequest",
        "InterleavedFrame",
        "RtspRequest",
        "InterleavedFrame",
    ]
    first, frame, second, empty = messages
    assert isinstance(first, RtspRequest) and first.cseq == "1"
    assert frame == InterleavedFrame(4, b"hello")
    assert isinstance(second, RtspRequest) and second.body == b"ab\r\n"
    assert empty == InterleavedFrame(5, b"")


def test_transport_header() -> None:
    spec = parse_transport("RTP/AVP/TCP;unicast;interleaved=4-5")
    assert spec.tcp and spec.interleaved == (4, 5)
    assert not parse_transport("RTP/AVP;unicast;client_port=5000-5001").tcp


@given(
    st.lists(st.binary(min_size=2, max_size=5000), min_size=1, max_size=6), st.integers(100, 1400)
)
def test_h264_packetization_reassembles(nals: list[bytes], mtu: int) -> None:
    nals = [bytes([0x65 if i == 0 else 0x41]) + nal[1:] for i, nal in enumerate(nals)]
    payloads = h264_payloads(nals, mtu)
    assert all(len(p) <= mtu for p in payloads)
    burst = build_burst(payloads, 96, keyframe=True)
    data = bytes(stamp_burst(burst, 6, 0xDEADBEEF, 65535, 1 << 33))
    packets = []
    offset = 0
    while offset < len(data):
        assert data[offset] == 0x24 and data[offset + 1] == 6
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        packets.append(parse_rtp(data[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    assert [p.sequence for p in packets] == [(65535 + n) & 0xFFFF for n in range(len(packets))]
    assert [p.marker for p in packets] == [False] * (len(packets) - 1) + [True]
    assert {p.ssrc for p in packets} == {0xDEADBEEF} and {p.timestamp for p in packets} == {0}
    rebuilt: list[bytes] = []
    fragment = b""
    for p in packets:
        if p.payload[0] & 0x1F == 28:
            if p.payload[1] & 0x80:
                fragment = bytes([(p.payload[0] & 0xE0) | (p.payload[1] & 0x1F)])
            fragment += p.payload[2:]
            if p.payload[1] & 0x40:
                rebuilt.append(fragment)
        else:
            rebuilt.append(p.payload)
    assert rebuilt == nals


def test_annexb_split_handles_three_and_four_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88"
    assert split_annexb(data) == [b"\x67\x42", b"\x68\xce", b"\x65\x88"]


def test_digest_and_basic_authorization() -> None:
    challenge = DigestChallenge("IP Camera(000001)", b"secret")
    account = Credentials("cam01", "pw")
    now = 1_700_000_000.0
    nonce = challenge.nonce(now)
    ha1 = hashlib.md5(b"cam01:IP Camera(000001):pw").hexdigest()
    ha2 = hashlib.md5(b"DESCRIBE:rtsp://h/Streaming/main").hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    header = (
        f'Digest username="cam01", realm="IP Camera(000001)", nonce="{nonce}", '
        f'uri="rtsp://h/Streaming/main", response="{response}"'
    )
    assert check_authorization(header, "DESCRIBE", challenge, account, now + 10)
    assert not check_authorization(header, "PLAY", challenge, account, now + 10)
    assert not check_authorization(header, "DESCRIBE", challenge, account, now + 1000)  # stale
    assert not check_authorization(header, "DESCRIBE", challenge, account, now, refuse_all=True)
    basic = "Basic " + base64.b64encode(b"cam01:pw").decode()
    assert check_authorization(basic, "DESCRIBE", challenge, account, now)
    assert not check_authorization(
        "Basic " + base64.b64encode(b"cam01:x").decode(), "DESCRIBE", challenge, account, now
    )


def test_username_token_digest_and_clock_window() -> None:
    account = Credentials("cam01", "pw")
    created = "2025-01-01T00:00:00Z"
    nonce = b"0123456789abcdef"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw").digest()).decode()
    token = UsernameToken("cam01", digest, True, nonce, created)
    camera_now = datetime(2025, 1, 1, tzinfo=UTC)
    assert verify_username_token(token, account, camera_now + timedelta(seconds=60), 300)
    assert not verify_username_token(token, account, camera_now + timedelta(hours=1), 300)
    assert not verify_username_token(token, Credentials("cam01", "other"), camera_now, 300)


def test_probe_type_matching_uses_namespaces_not_prefixes() -> None:
    probe = parse_probe(
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        b'xmlns:x="http://www.onvif.org/ver10/network/wsdl" xmlns:y="urn:other">'
        b"<e:Body><d:Probe><d:Types>x:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>"
    )
    info = DiscoveryInfo(
        "urn:uuid:1", ("http://h/onvif/device_service",), ("onvif://www.onvif.org/name/A",)
    )
    assert probe is not None and matches(probe, info)
    other = parse_probe(
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:y="urn:other">'
        b"<e:Body><d:Probe><d:Types>y:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>"
    )
    assert other is not None and not matches(other, info)
    assert parse_probe(b"not xml") is None
