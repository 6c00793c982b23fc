"""Pure parts of registration: WS-Discovery messages, RTSP URLs, state reason labels."""

from __future__ import annotations

import pytest

from camera_registry import InvalidStreamUrlError, split_rtsp_url
from camera_registry._discovery import build_probe, parse_probe_matches
from simulator._wsdiscovery import DiscoveryInfo, build_probe_matches, matches, parse_probe
from web._pages_cameras import reason_label


def test_our_probe_is_understood_and_the_reply_parsed() -> None:
    probe = parse_probe(build_probe("urn:uuid:1234"))  # the simulator's parser: an independent one
    assert probe is not None and probe.message_id == "urn:uuid:1234"
    info = DiscoveryInfo(
        "urn:uuid:cafe",
        ("http://10.0.0.7:8000/onvif/device_service",),
        (
            "onvif://www.onvif.org/name/%E8%B0%83%E8%A7%A3%E5%AE%A4",
            "onvif://www.onvif.org/hardware/ZS-IPC-2T",
        ),
    )
    assert matches(probe, info)
    reply = build_probe_matches(probe, info, 1, 1)
    (device,) = parse_probe_matches(reply, "urn:uuid:1234")
    assert device.endpoint_reference == "urn:uuid:cafe"
    assert (device.host, device.port) == ("10.0.0.7", 8000)
    assert device.name == "调解室" and device.hardware == "ZS-IPC-2T"
    assert parse_probe_matches(reply, "urn:uuid:other") == []  # not an answer to our Probe


@pytest.mark.parametrize(
    "data",
    [b"", b"not xml", b"<a/>", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'],
)
def test_garbage_datagrams_are_ignored(data: bytes) -> None:
    assert parse_probe_matches(data) == []


def test_split_rtsp_url_moves_credentials_out_of_the_url() -> None:
    assert split_rtsp_url("rtsp://cam01:p%40ss@10.0.0.7:554/Streaming/main") == (
        "rtsp://10.0.0.7:554/Streaming/main",
        "cam01",
        "p@ss",
    )
    assert split_rtsp_url("rtsp://10.0.0.7/live") == ("rtsp://10.0.0.7/live", None, None)
    with pytest.raises(InvalidStreamUrlError, match="rtsp://host"):
        split_rtsp_url("http://10.0.0.7/")


def test_reason_labels() -> None:
    assert reason_label("wrong password") == "reason.wrong_password"
    assert reason_label("stalled: no media for 10 s") == "reason.stalled"
    assert reason_label("camera closed the connection: reset") == "reason.closed"
    assert reason_label("something new") == "reason.other"
