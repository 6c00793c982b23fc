"""The INVITE offer reader and the answer writer (pure): every offer wvp, Monibuca and
Hikvision send is read right, and no input makes them fail other than with a SIP answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import SdpError, SipRequest, parse_sdp
from uplink._offer import OfferError, answer_sdp, parse_offer
from uplink._transactions import Timers, retransmit_delays

CHANNEL = "34020000001320000001"


def invite(sdp: str, uri: str = f"sip:{CHANNEL}@192.168.1.20:5060") -> SipRequest:
    return SipRequest("INVITE", uri, (("Subject", f"{CHANNEL}:0200009319,x:0"),), sdp.encode())


def offer_text(proto: str = "RTP/AVP", setup: str | None = None, extra: str = "") -> str:
    lines = ["v=0", "o=34020000002000000001 0 0 IN IP4 10.0.0.9", "s=Play",
             "c=IN IP4 10.0.0.9", "t=0 0", f"m=video 30012 {proto} 96 97 98 99",
             "a=recvonly", "a=rtpmap:96 PS/90000"]  # fmt: skip
    if setup:
        lines += [f"a=setup:{setup}", "a=connection:new"]
    if extra:
        lines.append(extra)
    lines.append("y=0200009319")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("proto", "setup", "transport", "answer_setup"),
    [
        ("RTP/AVP", None, "udp", None),
        ("TCP/RTP/AVP", "passive", "tcp-connect", "active"),
        ("TCP/RTP/AVP", "active", "tcp-listen", "passive"),
    ],
)
def test_wvp_offers(proto: str, setup: str | None, transport: str, answer_setup: str) -> None:
    request = invite(offer_text(proto, setup))
    offer = parse_offer(request, parse_sdp(request.body), domain="3402000000")
    assert offer.channel_id == CHANNEL and offer.transport == transport
    assert offer.address == "10.0.0.9" and offer.port == 30012 and offer.ssrc == "0200009319"
    assert offer.ssrc_value == 200009319 and offer.answer_setup == answer_setup
    answer = answer_sdp(offer, channel_id=CHANNEL, host="10.0.0.20", port=40000)
    text = answer.decode()
    assert text.splitlines()[-2] == "y=0200009319" and text.splitlines()[-1].startswith("f=v/2")
    parsed = parse_sdp(answer)
    assert parsed.media[0].port == 40000 and parsed.media[0].direction == "sendonly"
    if answer_setup:
        assert f"a=setup:{answer_setup}" in text


def test_sub_stream_missing_ssrc_and_refusals() -> None:
    request = invite(offer_text(extra="a=stream:1").replace("y=0200009319\r\n", ""))
    offer = parse_offer(request, parse_sdp(request.body), domain="3402000000")
    assert (
        offer.stream == "sub" and len(offer.ssrc) == 10 and offer.ssrc[:6] == "020000"
    )  # live + domain digits 4-8
    no_ps = invite(offer_text().replace(" 96 97 98 99", " 97 98"))
    with pytest.raises(OfferError) as refused:
        parse_offer(no_ps, parse_sdp(no_ps.body), domain="3402000000")
    assert refused.value.status == 415
    talk = invite(offer_text().replace("s=Play", "s=Unknown"))
    with pytest.raises(OfferError):
        parse_offer(talk, parse_sdp(talk.body), domain="3402000000")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["RTP/AVP", "TCP/RTP/AVP", "x"]))
def test_any_offer_is_read_or_refused(junk: str, proto: str) -> None:
    for body in (junk, offer_text(proto) + junk, junk.replace("|", "\r\n")):
        request = invite(body)
        try:
            sdp = parse_sdp(request.body)
            offer = parse_offer(request, sdp, domain="3402000000")
        except (OfferError, SdpError):
            continue
        assert len(offer.ssrc) == 10 and offer.ssrc.isdigit()
        answer_sdp(offer, channel_id=CHANNEL, host="127.0.0.1", port=1)


def test_retransmission_timers() -> None:
    timers = Timers(t1=0.5, t2=4.0)
    non_invite = list(retransmit_delays(timers, invite=False))
    assert non_invite[:5] == [0.5, 1.0, 2.0, 4.0, 4.0] and sum(non_invite) < 32
    assert list(retransmit_delays(timers, invite=True))[:6] == [0.5, 1, 2, 4, 8, 16]
