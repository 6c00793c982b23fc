"""SIP for GB/T 28181: header values and messages round trip, real captures from
gb28181.md parse, TCP framing at every split, digest both ways with the §2.4 vector,
MANSRTSP playback control, and garbage that only ever raises SipFormatError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    CSeq,
    DigestAuthenticator,
    MansRtsp,
    NameAddr,
    SipFormatError,
    SipRequest,
    SipResponse,
    SipStreamDecoder,
    SipUri,
    Via,
    digest_challenge,
    new_branch,
    new_call_id,
    new_tag,
    parse_cseq,
    parse_mansrtsp,
    parse_name_addr,
    parse_sdp,
    parse_sip,
    parse_sip_uri,
    parse_via,
    parse_www_authenticate,
    response_to,
    verify_digest,
)


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


# ------------------------------------------------------------- captures (gb28181.md)
HIK_REGISTER = _crlf(
    """REGISTER sip:130909115229300920@10.64.49.44:7100 SIP/2.0
Via: SIP/2.0/UDP 10.64.49.218:7100;rport;branch=z9hG4bK4162288924
From: <sip:130909113319427420@10.64.49.218:7100>;tag=382068091
To: <sip:130909113319427420@10.64.49.218:7100>
Call-ID: 143225205
CSeq: 1 REGISTER
Contact: <sip:130909113319427420@10.64.49.218:7100>
Max-Forwards: 70
User-Agent: Hikvision
Expires: 7200
Content-Length: 0

"""
)
DAHUA_KEEPALIVE = (
    _crlf(
        """MESSAGE sip:34020000002000000001@192.168.1.125:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.107:5060;rport;branch=z9hG4bK990289307
From: <sip:34020000001320000001@192.168.1.107:5060>;tag=50882131
To: <sip:34020000002000000001@192.168.1.125:5060>
Call-ID: 432363298@192.168.1.107
CSeq: 20 MESSAGE
Max-Forwards: 70
User-Agent: DH SIP UAS V1.0
Content-Type: Application/MANSCDP+xml
Content-Length:   178

"""
    )
    + b"""<?xml version="1.0" encoding="GB2312" ?>
<Notify>
    <CmdType>Keepalive</CmdType>
    <SN>4</SN>
    <DeviceID>34020000001320000001</DeviceID>
    <Status>OK</Status>
</Notify>
"""
)
WVP_SDP = _crlf(
    """v=0
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
"""
)
WVP_INVITE = (
    _crlf(
        f"""INVITE sip:34020000001320000001@192.168.1.20:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK1234
From: <sip:34020000002000000001@3402000000>;tag=wvp1
To: <sip:34020000001320000001@192.168.1.20:5060>
Call-ID: 9f1c@192.168.1.10
CSeq: 2 INVITE
Contact: <sip:34020000002000000001@192.168.1.10:5060>
Subject: 34020000001320000001:0200009319,34020000002000000001:0
Content-Type: APPLICATION/SDP
Max-Forwards: 70
Content-Length: {len(WVP_SDP)}

"""
    )
    + WVP_SDP
)


def test_hikvision_register_capture() -> None:
    msg = parse_sip(HIK_REGISTER)
    assert isinstance(msg, SipRequest)
    assert (msg.method, msg.uri) == ("REGISTER", "sip:130909115229300920@10.64.49.44:7100")
    (via,) = msg.vias
    assert (via.transport, via.host, via.port) == ("UDP", "10.64.49.218", 7100)
    assert via.branch == "z9hG4bK4162288924" and via.param("rport") == "" and via.rport is None
    assert msg.from_addr.tag == "382068091" and msg.to_addr.tag is None
    assert msg.from_addr.uri == SipUri("10.64.49.218", "130909113319427420", 7100)
    assert msg.cseq == CSeq(1, "REGISTER") and msg.call_id == "143225205"
    assert msg.header("expires") == "7200" and msg.header("Content-Length") is None
    assert parse_sip(msg.encode()) == msg


def test_dahua_keepalive_capture() -> None:
    msg = parse_sip(DAHUA_KEEPALIVE)
    assert isinstance(msg, SipRequest) and msg.method == "MESSAGE"
    assert msg.content_type == "application/manscdp+xml"
    assert len(msg.body) == 178 and msg.body.endswith(b"</Notify>\n")
    assert msg.from_addr.uri.user == "34020000001320000001"


def test_wvp_invite_and_its_sdp() -> None:
    msg = parse_sip(WVP_INVITE)
    assert isinstance(msg, SipRequest) and msg.method == "INVITE"
    assert msg.header("subject") == "34020000001320000001:0200009319,34020000002000000001:0"
    assert msg.header_all("Subject") == [msg.header("Subject")]  # commas inside, not a list
    assert msg.from_addr.uri.host == "3402000000" and msg.from_addr.uri.port is None
    sdp = parse_sdp(msg.body)
    assert sdp.ssrc == "0200009319" and int(sdp.ssrc) == 0x0BEBE667
    ok = response_to(msg, 200, to_tag="dev1", source=("192.168.1.10", 5060))
    assert ok.reason == "OK" and ok.to_addr.tag == "dev1" and ok.cseq == CSeq(2, "INVITE")
    (via,) = ok.vias
    assert via.received == "192.168.1.10" and via.rport == 5060 and via.branch == "z9hG4bK1234"
    assert [name for name, _ in ok.headers] == ["Via", "From", "To", "Call-ID", "CSeq"]
    trying = response_to(msg, 100)
    assert trying.reason == "Trying" and trying.to_addr.tag is None
    routed = msg.with_header("Record-Route", "<sip:10.0.0.9;lr>, <sip:10.0.0.8;lr>")
    contact = ("Contact", "<sip:34020000001320000001@192.168.1.20:5060>")
    ok = response_to(routed, 200, headers=[contact], body=b"v=0\r\n")
    assert ok.header_all("Record-Route") == ["<sip:10.0.0.9;lr>", "<sip:10.0.0.8;lr>"]
    assert ok.headers[-1] == contact and parse_sip(ok.encode()) == ok
    assert response_to(routed, 486).header("Record-Route") is None


def test_compact_forms_and_multiple_vias() -> None:
    raw = _crlf(
        """SIP/2.0 200 OK
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKb
Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKc;received=1.2.3.4;rport=6000
f: "演示 \\"平台\\"" <sip:34020000002000000001@3402000000>;tag=a
t: sip:34020000001180000001@3402000000;tag=b
i: abc@host
CSeq: 7 REGISTER
m: <sip:34020000001180000001@10.0.0.2:5060>;expires=3600, <sip:x@y>
 ;q=0.5
c: Application/MANSCDP+xml; charset=GB2312
l: 3

abcTRAILING"""
    )
    msg = parse_sip(raw)
    assert isinstance(msg, SipResponse) and msg.ok
    assert [name for name, _ in msg.headers][:4] == ["Via", "Via", "From", "To"]
    assert msg.body == b"abc" and msg.header("i") == msg.header("CALL-ID") == "abc@host"
    assert [(v.transport, v.host, v.port) for v in msg.vias] == [
        ("UDP", "10.0.0.1", 5060),
        ("TCP", "[2001:db8::1]", 5070),
        ("UDP", "proxy.example", None),
    ]
    assert msg.vias[2].received == "1.2.3.4" and msg.vias[2].rport == 6000
    assert msg.from_addr.display == '演示 "平台"' and msg.from_addr.tag == "a"
    assert msg.to_addr.tag == "b" and msg.to_addr.uri.params == ()  # addr-spec: tag is the header's
    assert len(msg.header_all("Contact")) == 2 and msg.content_type == "application/manscdp+xml"
    assert parse_name_addr(msg.header_all("m")[0]).param("expires") == "3600"


# ------------------------------------------------------------------ header values
_user = st.text("0123456789abcdefXYZ-_.!~*", min_size=1, max_size=20)
_host = st.one_of(
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
_port = st.one_of(st.none(), st.integers(1, 65535))
_pname = st.from_regex(r"[a-z][a-z0-9\-]{0,8}", fullmatch=True)
_pvalue = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9.\-_]{1,12}", fullmatch=True))
_params = st.lists(st.tuples(_pname, _pvalue), max_size=3).map(tuple)
_uris = st.builds(SipUri, _host, st.one_of(st.none(), _user), _port, _params)
_display = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
)
_name_addrs = st.builds(NameAddr, _uris, _display, _params)
_vias = st.builds(
    Via,
    st.sampled_from(["UDP", "TCP", "TLS"]),
    _host,
    _port,
    _params.map(lambda p: (*p, ("branch", new_branch()))),
)


@given(_uris, _name_addrs, _vias, st.integers(0, 2**31 - 1), st.sampled_from(["INVITE", "ACK"]))
def test_header_values_round_trip(
    uri: SipUri, addr: NameAddr, via: Via, n: int, method: str
) -> None:
    assert parse_sip_uri(uri.encode()) == uri
    assert parse_name_addr(addr.encode()) == addr
    assert parse_via(via.encode()) == via
    assert parse_cseq(str(CSeq(n, method))) == CSeq(n, method)
    tagged = addr.with_tag("t1").with_tag("t2")
    assert parse_name_addr(str(tagged)).tag == "t2"


def test_generators() -> None:
    assert new_branch().startswith("z9hG4bK") and new_branch() != new_branch()
    assert new_tag() != new_tag() and new_call_id("10.0.0.2").endswith("@10.0.0.2")
    via = Via.create("udp", "10.0.0.2", 5060)
    assert via.encode().startswith("SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bK")
    assert via.with_received("1.2.3.4", 40000).encode().endswith(";received=1.2.3.4;rport=40000")
    assert (
        "rport"
        not in Via.create("TCP", "h", None, rport=False).with_received("1.2.3.4", 1).encode()
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tel:123",
        "sip:",
        "sip:@host",
        "sip:u@host:0",
        "sip:u@host:99999",
        "sip:u@ho st",
        "sip:u@[::1",
    ],
)
def test_bad_uris(text: str) -> None:
    with pytest.raises(SipFormatError):
        parse_sip_uri(text)


# ---------------------------------------------------------------------- messages
_token = st.from_regex(r"X-[A-Za-z][A-Za-z0-9\-]{0,10}", fullmatch=True)
_value = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40).map(
    str.strip
)


@st.composite
def _messages(draw: st.DrawFn) -> SipRequest | SipResponse:
    headers = [
        ("Via", draw(_vias).encode()),
        ("From", draw(_name_addrs).with_tag(new_tag()).encode()),
        ("To", draw(_name_addrs).encode()),
        ("Call-ID", new_call_id(draw(st.one_of(st.none(), _host)))),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} MESSAGE"),
        *draw(st.lists(st.tuples(_token, _value), max_size=5)),
    ]
    body = draw(st.binary(max_size=600))
    if draw(st.booleans()):
        return SipResponse(draw(st.integers(100, 699)), draw(_value), tuple(headers), body)
    method = draw(st.sampled_from(["REGISTER", "MESSAGE", "INVITE", "INFO", "BYE", "NOTIFY"]))
    return SipRequest(method, draw(_uris).encode(), tuple(headers), body)


@given(st.lists(_messages(), min_size=1, max_size=5), st.data())
@settings(max_examples=150, deadline=None)
def test_messages_round_trip_datagram_and_stream(
    messages: list[SipRequest | SipResponse], data: st.DataObject
) -> None:
    for msg in messages:
        assert parse_sip(msg.encode()) == msg
        assert msg.vias and msg.cseq.method == "MESSAGE" and msg.from_addr.tag
    wire = b"\r\n\r\n".join(m.encode() for m in messages)  # keep-alive CRLFs between
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=20)))
    decoder = SipStreamDecoder()
    out = []
    prev = 0
    for cut in [*cuts, len(wire)]:
        out += decoder.feed(wire[prev:cut])
        prev = cut
    assert out == messages and decoder.buffered == 0


def test_tcp_stream_split_at_every_byte() -> None:
    wire = HIK_REGISTER + b"\r\n\r\n" + WVP_INVITE + DAHUA_KEEPALIVE
    expected = [parse_sip(HIK_REGISTER), parse_sip(WVP_INVITE), parse_sip(DAHUA_KEEPALIVE)]
    for split in range(len(wire) + 1):
        decoder = SipStreamDecoder()
        assert decoder.feed(wire[:split]) + decoder.feed(wire[split:]) == expected
    decoder = SipStreamDecoder()
    assert [m for b in wire for m in decoder.feed(bytes([b]))] == expected


def test_limits_and_keepalive() -> None:
    assert parse_sip(b"\r\n\r\n") is None
    with pytest.raises(SipFormatError, match="16384"):
        SipStreamDecoder().feed(b"MESSAGE sip:a@b SIP/2.0\r\nX-Pad: " + b"a" * 17000)
    with pytest.raises(SipFormatError, match="1048576"):
        SipStreamDecoder().feed(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2000000\r\n\r\n")
    with pytest.raises(SipFormatError, match="exceeds the 3 bytes"):
        parse_sip(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(SipFormatError, match="CSeq"):
        _ = SipRequest("MESSAGE", "sip:a@b").cseq
    with pytest.raises(ValueError, match="line break"):
        SipRequest("MESSAGE", "sip:a@b", (("Subject", "a\r\nVia: x"),)).encode()


@given(st.binary(max_size=2000))
@settings(max_examples=500, deadline=None)
def test_garbage_raises_only_sip_format_error(data: bytes) -> None:
    for blob in (data, b"INVITE sip:a@b SIP/2.0\r\n" + data, b"SIP/2.0 200 OK\r\nVia: " + data):
        with contextlib.suppress(SipFormatError):
            msg = parse_sip(blob + b"\r\n\r\n")
            if msg is not None:
                for name in ("call_id", "cseq", "from_addr", "to_addr", "vias", "content_type"):
                    with contextlib.suppress(SipFormatError):
                        getattr(msg, name)
        with contextlib.suppress(SipFormatError):
            SipStreamDecoder().feed(blob)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_header_value_garbage_raises_only_sip_format_error(text: str) -> None:
    for parse in (parse_sip_uri, parse_name_addr, parse_via, parse_cseq, parse_mansrtsp):
        with contextlib.suppress(SipFormatError):
            parse(text)  # type: ignore[operator]


# ------------------------------------------------------------------------ digest
VECTOR = {
    "username": "34020000001320000001",
    "realm": "3402000000",
    "password": "12345678",
    "nonce": "0123456789abcdef0123456789abcdef",
    "uri": "sip:34020000002000000001@192.168.1.10:5060",
}


@pytest.mark.parametrize(
    ("qop", "response"),
    [(False, "5fd285afa5fa3f67476ffe11c61b31e7"), (True, "9245add4999bfcca9a4c4e9bac6ac036")],
)
def test_gb28181_digest_vector(qop: bool, response: str) -> None:
    challenge = digest_challenge(VECTOR["realm"], VECTOR["nonce"], qop=qop)
    auth = DigestAuthenticator(VECTOR["username"], VECTOR["password"])
    assert auth.accept(parse_www_authenticate([challenge]))
    auth._cnonce = "0a4f113b"  # the vector's fixed client nonce
    header = auth.authorization("REGISTER", VECTOR["uri"])
    assert header is not None and f'response="{response}"' in header
    assert ("nc=00000001" in header) == qop
    check = {"method": "REGISTER", "realm": VECTOR["realm"], "nonce": VECTOR["nonce"]}
    assert verify_digest(header, password="12345678", username=VECTOR["username"], **check)
    assert not verify_digest(header, password="87654321", **check)
    assert not verify_digest(header, password="12345678", **{**check, "nonce": "stale"})
    assert not verify_digest(header, password="12345678", username="admin", **check)
    assert not verify_digest(header, password="12345678", **{**check, "method": "MESSAGE"})


def test_hikvision_style_digest_with_opaque_verifies() -> None:
    auth = DigestAuthenticator("admin", "12345")
    assert auth.accept(
        parse_www_authenticate(
            ['Digest realm="hik", nonce="a8afe6fc", opaque="a853e4f2", algorithm=MD5']
        )
    )
    mine = auth.authorization("REGISTER", "sip:130909115229300920@10.64.49.44:7100")
    assert mine is not None and 'opaque="a853e4f2"' in mine
    assert verify_digest(mine, method="REGISTER", password="12345", realm="hik")
    assert not verify_digest(mine, method="REGISTER", password="12345", realm="3402000000")


@given(st.text(max_size=300), st.text(max_size=20))
def test_verify_digest_never_raises(header: str, password: str) -> None:
    assert verify_digest(header, method="REGISTER", password=password) in (True, False)


# ---------------------------------------------------------------------- MANSRTSP
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"PLAY RTSP/1.0\r\nCSeq: 2\r\nRange: npt=now-\r\n", MansRtsp("PLAY", 2)),
        (b"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=100-\r\n", MansRtsp("PLAY", 3, 100.0)),
        (b"PAUSE RTSP/1.0\r\nCSeq: 4\r\nPauseTime: now\r\n", MansRtsp("PAUSE", 4)),
        (b"PLAY RTSP/1.0\nCSeq: 5\nScale: 2.000000\n", MansRtsp("PLAY", 5, scale=2.0)),
        (
            b"PLAY RTSP/1.0\r\nCSeq: 6\r\nScale: -0.5\r\nRange: npt=1.5-9\r\n",
            MansRtsp("PLAY", 6, 1.5, 9.0, -0.5),
        ),
    ],
)
def test_wvp_playback_controls(body: bytes, expected: MansRtsp) -> None:
    control = parse_mansrtsp(body)
    assert control == expected and control.seek == (expected.range_start is not None)


@given(
    st.sampled_from(["PLAY", "PAUSE", "TEARDOWN"]),
    st.one_of(st.none(), st.integers(0, 10**9)),
    st.one_of(st.none(), st.integers(0, 10**9).map(lambda ms: ms / 1000)),
    st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0, -1.0, -2.0])),
)
def test_mansrtsp_round_trip(
    method: str, cseq: int | None, start: float | None, scale: float | None
) -> None:
    control = MansRtsp(method, cseq, None if method == "PAUSE" else start, None, scale)
    assert parse_mansrtsp(control.encode()) == control


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"GET / HTTP/1.1\r\n",
        b"PLAY RTSP/1.0\r\nRange: bytes=0-\r\n",
        b"PLAY RTSP/1.0\r\nScale: fast\r\n",
        b"PLAY RTSP/1.0\r\nScale: nan\r\n",
    ],
)
def test_bad_mansrtsp(body: bytes) -> None:
    with pytest.raises(SipFormatError):
        parse_mansrtsp(body)
