"""WS-Discovery (2005/04) Probe for ONVIF cameras, as a small asyncio datagram client.

Pure core: :func:`build_probe` and :func:`parse_probe_matches`.  Shell: :func:`discover`
sends one Probe from an ephemeral UDP port (multicast 239.255.255.250:3702 by default, or
unicast to a given host, which also reaches cameras behind routers that drop multicast)
and collects the ProbeMatches that come back to that port until the timeout.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "MULTICAST_TARGET",
    "DiscoveredDevice",
    "build_probe",
    "discover",
    "parse_probe_matches",
]

WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
MULTICAST_TARGET = ("239.255.255.250", 3702)
_MAX_DATAGRAM = 65_507


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    endpoint_reference: str  # stable urn:uuid:… of the device
    xaddrs: tuple[str, ...]  # device service URLs
    scopes: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def host(self) -> str | None:
        return urlsplit(self.xaddrs[0]).hostname if self.xaddrs else None

    @property
    def port(self) -> int:
        if not self.xaddrs:
            return 80
        parts = urlsplit(self.xaddrs[0])
        return parts.port or (443 if parts.scheme == "https" else 80)

    def _scope(self, kind: str) -> str:
        prefix = f"onvif://www.onvif.org/{kind}/"
        found = [unquote(s[len(prefix) :]) for s in self.scopes if s.startswith(prefix)]
        return " ".join(found)

    @property
    def name(self) -> str:
        return self._scope("name")

    @property
    def hardware(self) -> str:
        return self._scope("hardware")


def build_probe(message_id: str | None = None) -> bytes:
    """A SOAP 1.2 Probe for ``dn:NetworkVideoTransmitter`` (pure)."""
    mid = message_id or f"urn:uuid:{uuid.uuid4()}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}">'
        f"<s:Header><a:Action>{WSD}/Probe</a:Action><a:MessageID>{mid}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>"
        "</s:Body></s:Envelope>"
    ).encode()


def parse_probe_matches(data: bytes, message_id: str | None = None) -> list[DiscoveredDevice]:
    """The devices in a ProbeMatches datagram; [] for anything else (pure, never raises).

    With ``message_id`` only replies that relate to that Probe count.
    """
    if len(data) > _MAX_DATAGRAM or b"<!ENTITY" in data:
        return []  # no entity games from the network
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return []
    envelope_ns = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if message_id is not None:
        relates = root.findtext(f"{{{envelope_ns}}}Header/{{{WSA}}}RelatesTo")
        if (relates or "").strip() != message_id:
            return []
    devices = []
    for match in root.iterfind(f"{{{envelope_ns}}}Body/{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch"):
        address = (match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address") or "").strip()
        xaddrs = tuple((match.findtext(f"{{{WSD}}}XAddrs") or "").split())
        if not address or not xaddrs:
            continue
        devices.append(
            DiscoveredDevice(
                endpoint_reference=address,
                xaddrs=xaddrs,
                scopes=tuple((match.findtext(f"{{{WSD}}}Scopes") or "").split()),
                types=tuple((match.findtext(f"{{{WSD}}}Types") or "").split()),
            )
        )
    return devices


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, DiscoveredDevice] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        for device in parse_probe_matches(data, self.message_id):
            self.found.setdefault(device.endpoint_reference, device)


async def discover(
    targets: Iterable[tuple[str, int]] = (MULTICAST_TARGET,),
    *,
    wait: float = 2.0,
    local_host: str = "0.0.0.0",
) -> list[DiscoveredDevice]:
    """Probe ``targets`` and collect the devices that answer within ``wait`` seconds.

    Replies come back unicast to the Probe's source port, so one ephemeral socket serves
    multicast and unicast alike.  Devices are returned once each, by endpoint reference.
    """
    message_id = f"urn:uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # stay on the LAN
        sock.setblocking(False)
        sock.bind((local_host, 0))
    except OSError:
        sock.close()
        raise
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id), sock=sock
    )
    try:
        probe = build_probe(message_id)
        for target in targets:
            transport.sendto(probe, target)
        await asyncio.sleep(wait)
    finally:
        transport.close()
    return sorted(collector.found.values(), key=lambda d: (d.name, d.endpoint_reference))
