"""Replies of the ONVIF Device service (ver10, tds) for one simulated camera.

Pure code: each function returns the Body content for one operation.  Element order
follows devicemgmt.wsdl / onvif.xsd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

from ._config import CameraConfig
from ._soap import NS, SoapFault, SoapRequest, text

__all__ = ["DeviceView", "device_reply"]

_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class DeviceView:
    """What the replies need to know about the running camera."""

    config: CameraConfig
    device_xaddr: str
    media_xaddr: str
    rtsp_urls: dict[str, str]  # profile token -> rtsp:// URL
    snapshot_urls: dict[str, str]  # profile token -> http:// URL


def scopes(config: CameraConfig) -> list[str]:
    return [
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/type/audio_encoder",
        "onvif://www.onvif.org/type/Network_Video_Transmitter",
        "onvif://www.onvif.org/Profile/Streaming",
        f"onvif://www.onvif.org/hardware/{quote(config.model)}",
        f"onvif://www.onvif.org/name/{quote(config.name)}",
        "onvif://www.onvif.org/location/country/china",
    ]


def _date_time(tag: str, moment: datetime) -> str:
    return (
        f"<tt:{tag}><tt:Time><tt:Hour>{moment.hour}</tt:Hour><tt:Minute>{moment.minute}"
        f"</tt:Minute><tt:Second>{moment.second}</tt:Second></tt:Time><tt:Date>"
        f"<tt:Year>{moment.year}</tt:Year><tt:Month>{moment.month}</tt:Month>"
        f"<tt:Day>{moment.day}</tt:Day></tt:Date></tt:{tag}>"
    )


def _system_date_and_time(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    utc = now.astimezone(UTC)
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>"
        f"{_date_time('UTCDateTime', utc)}{_date_time('LocalDateTime', utc.astimezone(_CHINA))}"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def _services(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    with_capabilities = (request.find_text("IncludeCapability") or "false").lower() == "true"
    entries = [
        (NS["tds"], view.device_xaddr, _device_service_capabilities(), 2, 60),
        (NS["trt"], view.media_xaddr, _media_service_capabilities(), 2, 60),
    ]
    body = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{text(xaddr)}</tds:XAddr>"
        + (f"<tds:Capabilities>{caps}</tds:Capabilities>" if with_capabilities else "")
        + f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version>"
        "</tds:Service>"
        for ns, xaddr, caps, major, minor in entries
    )
    return f"<tds:GetServicesResponse>{body}</tds:GetServicesResponse>"


def _device_service_capabilities() -> str:
    return (
        "<tds:Capabilities><tds:Network/>"
        '<tds:Security UsernameToken="true" HttpDigest="true"/>'
        '<tds:System DiscoveryResolve="false" DiscoveryBye="true" RemoteDiscovery="false"/>'
        "</tds:Capabilities>"
    )


def _media_service_capabilities() -> str:
    return (
        '<trt:Capabilities SnapshotUri="true" Rotation="false">'
        '<trt:ProfileCapabilities MaximumNumberOfProfiles="2"/>'
        '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/>'
        "</trt:Capabilities>"
    )


def _capabilities(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    categories = set((request.find_text("Category") or "All").split())
    device = media = ""
    if categories & {"All", "Device"}:
        device = (
            f"<tt:Device><tt:XAddr>{text(view.device_xaddr)}</tt:XAddr>"
            "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false"
            "</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6>"
            "<tt:DynDNS>false</tt:DynDNS></tt:Network>"
            "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>"
            "<tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>"
            "<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging>"
            "<tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>"
            "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tt:SupportedVersions></tt:System></tt:Device>"
        )
    if categories & {"All", "Media"}:
        media = (
            f"<tt:Media><tt:XAddr>{text(view.media_xaddr)}</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
        )
    if not device and not media:
        raise SoapFault.invalid_arg(
            "ter:NoSuchService", f"capability category {' '.join(sorted(categories))} is absent"
        )
    return (
        f"<tds:GetCapabilitiesResponse><tds:Capabilities>{device}{media}"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def _device_information(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    c = view.config
    return (
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{text(c.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{text(c.model)}</tds:Model>"
        f"<tds:FirmwareVersion>{text(c.firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{text(c.serial)}</tds:SerialNumber>"
        f"<tds:HardwareId>{text(c.model)}-HW1</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def _mac_address(config: CameraConfig) -> str:
    digits = config.endpoint_uuid.replace("-", "")[-10:]
    # 02: a locally administered unicast address, never a real vendor's.
    return "02:" + ":".join(digits[i : i + 2] for i in range(0, 10, 2))


def _network_interfaces(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    prefix = 8 if view.config.host.startswith("127.") else 24
    return (
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
        "<tt:Enabled>true</tt:Enabled>"
        f"<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{_mac_address(view.config)}"
        "</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
        f"<tt:Address>{text(view.config.host)}</tt:Address><tt:PrefixLength>{prefix}"
        "</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
        "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def _scopes(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    items = "".join(
        f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{text(scope)}"
        "</tt:ScopeItem></tds:Scopes>"
        for scope in scopes(view.config)
    )
    return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"


def _hostname(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    return (
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
        f"<tt:Name>ipc-{view.config.serial.lower()}</tt:Name>"
        "</tds:HostnameInformation></tds:GetHostnameResponse>"
    )


def _service_capabilities(view: DeviceView, request: SoapRequest, now: datetime) -> str:
    return (
        "<tds:GetServiceCapabilitiesResponse>"
        f"{_device_service_capabilities()}</tds:GetServiceCapabilitiesResponse>"
    )


_Handler = Callable[[DeviceView, SoapRequest, datetime], str]

_OPERATIONS: dict[str, _Handler] = {
    "GetSystemDateAndTime": _system_date_and_time,
    "GetServices": _services,
    "GetServiceCapabilities": _service_capabilities,
    "GetCapabilities": _capabilities,
    "GetDeviceInformation": _device_information,
    "GetNetworkInterfaces": _network_interfaces,
    "GetScopes": _scopes,
    "GetHostname": _hostname,
}


def device_reply(view: DeviceView, request: SoapRequest, camera_now: datetime) -> str:
    handler = _OPERATIONS.get(request.operation)
    if handler is None:
        raise SoapFault.action_not_supported(request.operation)
    return handler(view, request, camera_now)
