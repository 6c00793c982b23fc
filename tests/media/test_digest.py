"""RTSP Basic/Digest authentication."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from media import DigestAuthenticator, parse_www_authenticate


def test_rfc2617_digest_example() -> None:
    auth = DigestAuthenticator("Mufasa", "Circle Of Life")
    challenges = parse_www_authenticate(
        [
            'Digest realm="testrealm@host.com", qop="auth,auth-int", '
            'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
        ]
    )
    assert auth.accept(challenges)
    auth._cnonce = "0a4f113b"  # the RFC's fixed client nonce
    header = auth.authorization("GET", "/dir/index.html")
    assert header is not None
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "nc=00000001" in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_digest_without_qop_and_preference_over_basic() -> None:
    challenges = parse_www_authenticate(
        ['Basic realm="cam"', 'Digest realm="IP Camera(C6513)", nonce="abc", stale="FALSE"']
    )
    assert [c.scheme for c in challenges] == ["basic", "digest"]
    auth = DigestAuthenticator("admin", "pw")
    assert auth.accept(challenges) and auth.scheme == "digest"
    header = auth.authorization("DESCRIBE", "rtsp://h/cam")
    assert header is not None and header.startswith("Digest ") and "qop" not in header


def test_two_challenges_in_one_header_and_basic() -> None:
    (basic, digest) = parse_www_authenticate(['Basic realm="a b", Digest realm="r", nonce="n"'])
    assert basic.params == {"realm": "a b"} and digest.params == {"realm": "r", "nonce": "n"}
    auth = DigestAuthenticator("user", "pa:ss")
    assert auth.accept([basic])
    assert (
        auth.authorization("OPTIONS", "rtsp://h/")
        == "Basic " + base64.b64encode(b"user:pa:ss").decode()
    )


def test_unsupported_schemes() -> None:
    auth = DigestAuthenticator("u", "p")
    assert not auth.accept(parse_www_authenticate(["Negotiate abc", 'Digest realm="r"']))
    assert auth.authorization("OPTIONS", "rtsp://h/") is None


@given(st.lists(st.text(max_size=80), max_size=4))
def test_parser_never_raises(values: list[str]) -> None:
    for challenge in parse_www_authenticate(values):
        assert challenge.scheme
