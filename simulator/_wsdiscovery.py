"""WS-Discovery (2005/04) Probe matching and ProbeMatches for ONVIF devices.

Pure code: parse a Probe datagram, decide whether a device matches its Types and Scopes,
write the ProbeMatches reply.
"""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from ._soap import text

__all__ = ["DiscoveryInfo", "Probe", "build_probe_matches", "matches", "parse_probe"]

WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
_SOAP_ENVS = (
    "http://www.w3.org/2003/05/soap-envelope",
    "http://schemas.xmlsoap.org/soap/envelope/",
)
_DEVICE_TYPES = frozenset({(DN, "NetworkVideoTransmitter"), (TDS, "Device")})
_MAX_DATAGRAM = 65_507


@dataclass(frozen=True, slots=True)
class Probe:
    message_id: str
    types: tuple[tuple[str | None, str], ...]  # (namespace or None if unbound, local name)
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DiscoveryInfo:
    endpoint_reference: str  # urn:uuid:…
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    metadata_version: int = 1


def parse_probe(data: bytes) -> Probe | None:
    """The Probe in ``data``, or None when it is some other WS-Discovery message."""
    if len(data) > _MAX_DATAGRAM:
        return None
    namespaces: dict[str, str] = {}
    try:
        for event, item in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if event == "start-ns":
                prefix, uri = item
                namespaces.setdefault(prefix, uri)
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    envelope_ns = root.tag[1:].partition("}")[0]
    if envelope_ns not in _SOAP_ENVS:
        return None
    probe = root.find(f"{{{envelope_ns}}}Body/{{{WSD}}}Probe")
    if probe is None:
        return None
    message_id = (root.findtext(f"{{{envelope_ns}}}Header/{{{WSA}}}MessageID") or "").strip()
    types: list[tuple[str | None, str]] = []
    for qname in (probe.findtext(f"{{{WSD}}}Types") or "").split():
        prefix, sep, local = qname.rpartition(":")
        types.append((namespaces.get(prefix) if sep else namespaces.get(""), local))
    scopes = tuple((probe.findtext(f"{{{WSD}}}Scopes") or "").split())
    return Probe(message_id, tuple(types), scopes)


def _scope_matches(wanted: str, offered: Sequence[str]) -> bool:
    # RFC 3986 rule (the default MatchBy): equal, or a prefix ending on a path segment.
    base = wanted.rstrip("/")
    return any(s == wanted or s.rstrip("/") == base or s.startswith(base + "/") for s in offered)


def matches(probe: Probe, info: DiscoveryInfo) -> bool:
    for namespace, local in probe.types:
        if namespace is None:
            if local not in {name for _, name in _DEVICE_TYPES}:
                return False
        elif (namespace, local) not in _DEVICE_TYPES:
            return False
    return all(_scope_matches(scope, info.scopes) for scope in probe.scopes)


def build_probe_matches(probe: Probe, info: DiscoveryInfo, instance_id: int, number: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:wsa="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}" xmlns:tds="{TDS}">'
        f"<env:Header><wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:RelatesTo>{text(probe.message_id)}</wsa:RelatesTo>"
        "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
        f"<wsa:Action>{WSD}/ProbeMatches</wsa:Action>"
        f'<d:AppSequence InstanceId="{instance_id}" MessageNumber="{number}"/></env:Header>'
        "<env:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference>"
        f"<wsa:Address>{text(info.endpoint_reference)}</wsa:Address></wsa:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        f"<d:Scopes>{text(' '.join(info.scopes))}</d:Scopes>"
        f"<d:XAddrs>{text(' '.join(info.xaddrs))}</d:XAddrs>"
        f"<d:MetadataVersion>{info.metadata_version}</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>"
    ).encode()
