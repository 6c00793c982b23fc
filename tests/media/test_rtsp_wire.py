"""RTSP message and interleaved framing: round trips, arbitrary splits, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    RtspFormatError,
    RtspRequest,
    RtspResponse,
    RtspStreamDecoder,
    encode_interleaved,
    encode_request,
    encode_response,
)

_token = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12
)
_value = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)
_headers = st.lists(
    st.tuples(_token.filter(lambda t: t.lower() != "content-length"), _value), max_size=6
)
_body = st.binary(max_size=300)


@st.composite
def _items(draw: st.DrawFn) -> tuple[object, bytes]:
    kind = draw(st.sampled_from(["frame", "response", "request"]))
    if kind == "frame":
        channel = draw(st.integers(0, 255))
        payload = draw(st.binary(max_size=2000))
        return (channel, payload), encode_interleaved(channel, payload)
    headers = [("CSeq", str(draw(st.integers(0, 10**6)))), *draw(_headers)]
    body = draw(_body)
    if kind == "response":
        status = draw(st.integers(100, 599))
        wire = encode_response(status, "Some Reason", headers, body)
        return ("response", status, body, headers), wire
    method = draw(st.sampled_from(["OPTIONS", "GET_PARAMETER", "ANNOUNCE"]))
    wire = encode_request(method, "rtsp://127.0.0.1/cam", headers, body)
    return ("request", method, body, headers), wire


def _normalise(item: object) -> object:
    if isinstance(item, tuple):
        return (item[0], bytes(item[1]))
    if isinstance(item, RtspResponse):
        hdrs = [h for h in item.headers if h[0] != "Content-Length"]
        return ("response", item.status, item.body, hdrs)
    assert isinstance(item, RtspRequest)
    hdrs = [h for h in item.headers if h[0] != "Content-Length"]
    return ("request", item.method, item.body, hdrs)


@given(st.lists(_items(), min_size=1, max_size=12), st.data())
@settings(max_examples=200, deadline=None)
def test_stream_round_trips_at_any_split(
    items: list[tuple[object, bytes]], data: st.DataObject
) -> None:
    wire = b"".join(w for _, w in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=20)))
    decoder = RtspStreamDecoder()
    out: list[object] = []
    prev = 0
    for cut in [*cuts, len(wire)]:
        out.extend(_normalise(i) for i in decoder.feed(wire[prev:cut]))
        prev = cut
    expected = []
    for item, _ in items:
        if item[0] in ("response", "request"):
            expected.append(item)
        else:
            expected.append(item)
    assert out == expected
    assert decoder.buffered == 0


def test_byte_by_byte_response_with_body() -> None:
    wire = encode_response(
        200, "OK", [("CSeq", "3"), ("Content-Type", "application/sdp")], b"v=0\r\n"
    )
    decoder = RtspStreamDecoder()
    got = [m for b in wire for m in decoder.feed(bytes([b]))]
    assert len(got) == 1
    resp = got[0]
    assert isinstance(resp, RtspResponse)
    assert (resp.status, resp.cseq, resp.body, resp.header("content-type")) == (
        200,
        3,
        b"v=0\r\n",
        "application/sdp",
    )


def test_bare_lf_and_folded_headers_and_multi_values() -> None:
    wire = (
        b'RTSP/1.0 401 Unauthorized\nCSeq: 2\nWWW-Authenticate: Digest realm="r",\n'
        b' nonce="n"\nWWW-Authenticate: Basic realm="r"\n\n'
    )
    (resp,) = RtspStreamDecoder().feed(wire)
    assert isinstance(resp, RtspResponse)
    assert resp.header_all("www-authenticate") == ['Digest realm="r", nonce="n"', 'Basic realm="r"']


def test_stray_crlf_between_messages_is_skipped() -> None:
    wire = encode_interleaved(0, b"ab") + b"\r\n" + encode_interleaved(1, b"cd")
    out = RtspStreamDecoder().feed(wire)
    assert [(c, bytes(p)) for c, p in out] == [(0, b"ab"), (1, b"cd")]  # type: ignore[misc]


@pytest.mark.parametrize(
    "wire",
    [
        b"\x00\x01garbage",
        b"RTSP/1.0 abc OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: x\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n",
        b"A" * 20000,
    ],
)
def test_garbage_raises_malformed(wire: bytes) -> None:
    with pytest.raises(RtspFormatError):
        RtspStreamDecoder().feed(wire)


@given(st.binary(max_size=4000))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_malformed(wire: bytes) -> None:
    decoder = RtspStreamDecoder()
    try:
        decoder.feed(wire)
        decoder.feed(wire[::-1])
    except RtspFormatError:
        pass


def test_encoders_refuse_injection() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_request("OPTIONS", "rtsp://h/", [("X", "a\r\nInjected: 1")])
    with pytest.raises(ValueError, match="exceeds"):
        encode_interleaved(0, bytes(70000))
