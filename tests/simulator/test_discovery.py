"""WS-Discovery: a unicast Probe to the responder's port gets a ProbeMatch per camera."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulator import CameraFleet

WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


def _probe(types: str, message_id: str, scopes: str = "") -> bytes:
    scope_element = f"<d:Scopes>{scopes}</d:Scopes>" if scopes else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<s:Header><a:Action>{WSD}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        f"<s:Body><d:Probe><d:Types>{types}</d:Types>{scope_element}</d:Probe></s:Body></s:Envelope>"
    ).encode()


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


@pytest.fixture
async def fleet(clip_cache: Path) -> AsyncIterator[CameraFleet]:
    async with CameraFleet.create(2, clip_cache_dir=clip_cache) as running:
        yield running


async def _ask(port: int, probe: bytes, expect: int) -> list[ET.Element]:
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        _Collector, local_addr=("127.0.0.1", 0)
    )
    try:
        transport.sendto(probe, ("127.0.0.1", port))
        replies = [
            ET.fromstring(await asyncio.wait_for(collector.replies.get(), 3)) for _ in range(expect)
        ]
        await asyncio.sleep(0.2)
        assert collector.replies.empty(), "more ProbeMatches than cameras"
        return replies
    finally:
        transport.close()


@pytest.mark.parametrize("types", ["dn:NetworkVideoTransmitter", "tds:Device", ""])
async def test_probe_gets_one_match_per_camera(fleet: CameraFleet, types: str) -> None:
    assert fleet.discovery_port is not None
    message_id = f"uuid:{uuid.uuid4()}"
    replies = await _ask(fleet.discovery_port, _probe(types, message_id), expect=2)
    seen = {}
    for reply in replies:
        assert reply.findtext(f".//{{{WSA}}}RelatesTo") == message_id
        assert reply.findtext(f".//{{{WSA}}}Action") == f"{WSD}/ProbeMatches"
        match = reply.find(f".//{{{WSD}}}ProbeMatch")
        assert match is not None
        address = match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address")
        seen[address] = (
            match.findtext(f"{{{WSD}}}XAddrs"),
            (match.findtext(f"{{{WSD}}}Scopes") or "").split(),
        )
        assert "dn:NetworkVideoTransmitter" in (match.findtext(f"{{{WSD}}}Types") or "")
    for camera in fleet.cameras:
        xaddrs, scopes = seen[camera.config.endpoint_reference]
        assert xaddrs == camera.device_service_url
        assert "onvif://www.onvif.org/Profile/Streaming" in scopes
        assert any(s.startswith("onvif://www.onvif.org/name/") for s in scopes)
        assert camera.config.endpoint_reference.startswith("urn:uuid:")


async def test_probe_for_another_device_type_gets_no_answer(fleet: CameraFleet) -> None:
    assert fleet.discovery_port is not None
    probe = _probe("dn:SomePrinter", f"uuid:{uuid.uuid4()}")
    await _ask(fleet.discovery_port, probe, expect=0)


async def test_scope_filter_selects_by_name(fleet: CameraFleet) -> None:
    assert fleet.discovery_port is not None
    camera = fleet.cameras[1]
    name_scope = next(s for s in camera.discovery_info().scopes if "/name/" in s)  # type: ignore[union-attr]
    replies = await _ask(
        fleet.discovery_port, _probe("dn:NetworkVideoTransmitter", "uuid:1", name_scope), 1
    )
    assert camera.device_service_url in ET.tostring(replies[0]).decode()


async def test_rebooting_camera_is_silent(fleet: CameraFleet) -> None:
    assert fleet.discovery_port is not None
    reboot = fleet.cameras[0].reboot(0.5)
    await asyncio.sleep(0.2)
    replies = await _ask(fleet.discovery_port, _probe("", "uuid:2"), expect=1)
    assert fleet.cameras[1].device_service_url in ET.tostring(replies[0]).decode()
    await reboot


def test_endpoint_reference_is_stable_across_runs() -> None:
    first = CameraFleet.create(1, discovery_port=None).cameras[0].config.endpoint_reference
    second = CameraFleet.create(1, discovery_port=None).cameras[0].config.endpoint_reference
    assert first == second
