"""Every SOAP reply validates against the ONVIF schemas shipped with the onvif client."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import onvif
import pytest
from lxml import etree

from simulator import default_camera_config
from simulator._onvif_device import DeviceView, device_reply
from simulator._onvif_media import media_reply
from simulator._soap import NS, SoapFault, envelope, fault_envelope, parse_soap_request

WSDL_DIR = os.path.join(os.path.dirname(onvif.__file__), "wsdl")
DEVICE_OPERATIONS = [
    "GetSystemDateAndTime",
    "GetServices",
    "GetServiceCapabilities",
    "GetCapabilities",
    "GetDeviceInformation",
    "GetNetworkInterfaces",
    "GetScopes",
    "GetHostname",
]
MEDIA_OPERATIONS = [
    "GetServiceCapabilities",
    "GetProfiles",
    "GetProfile",
    "GetStreamUri",
    "GetSnapshotUri",
    "GetVideoEncoderConfigurations",
    "GetAudioOutputs",
    "GetAudioOutputConfigurations",
    "GetAudioDecoderConfigurations",
    "GetAudioDecoderConfigurationOptions",
]


def _schema(wsdl: str) -> etree.XMLSchema:
    path = os.path.join(WSDL_DIR, wsdl)
    schema = etree.parse(path).find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema), base_url=path))


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    return {NS["tds"]: _schema("devicemgmt.wsdl"), NS["trt"]: _schema("media.wsdl")}


VIEW = DeviceView(
    config=default_camera_config(3),
    device_xaddr="http://127.0.0.1:8000/onvif/device_service",
    media_xaddr="http://127.0.0.1:8000/onvif/media_service",
    rtsp_urls={
        "main": "rtsp://127.0.0.1:8001/Streaming/main",
        "sub": "rtsp://127.0.0.1:8001/Streaming/sub",
    },
    snapshot_urls={
        "main": "http://127.0.0.1:8000/onvif/snapshot?profile=main",
        "sub": "http://x/s",
    },
)


def _request(namespace: str, operation: str, inner: str = "") -> bytes:
    return envelope(f'<x:{operation} xmlns:x="{namespace}">{inner}</x:{operation}>')


def _reply_element(body: str) -> etree._Element:
    return etree.fromstring(envelope(body))[0][0]


@pytest.mark.parametrize("operation", DEVICE_OPERATIONS)
def test_device_replies_are_schema_valid(
    schemas: dict[str, etree.XMLSchema], operation: str
) -> None:
    inner = "<x:IncludeCapability>true</x:IncludeCapability>" if operation == "GetServices" else ""
    request = parse_soap_request(_request(NS["tds"], operation, inner))
    element = _reply_element(device_reply(VIEW, request, datetime.now(UTC)))
    schema = schemas[NS["tds"]]
    assert schema.validate(etree.ElementTree(element)), schema.error_log


@pytest.mark.parametrize("operation", MEDIA_OPERATIONS)
def test_media_replies_are_schema_valid(
    schemas: dict[str, etree.XMLSchema], operation: str
) -> None:
    request = parse_soap_request(
        _request(NS["trt"], operation, "<x:ProfileToken>sub</x:ProfileToken>")
    )
    element = _reply_element(media_reply(VIEW, request))
    schema = schemas[NS["trt"]]
    assert schema.validate(etree.ElementTree(element)), schema.error_log


def test_the_validator_catches_elements_out_of_order(schemas: dict[str, etree.XMLSchema]) -> None:
    request = parse_soap_request(_request(NS["tds"], "GetDeviceInformation"))
    body = device_reply(VIEW, request, datetime.now(UTC))
    model = body[body.index("<tds:Model>") : body.index("</tds:Model>") + len("</tds:Model>")]
    swapped = body.replace(model, "").replace("<tds:SerialNumber>", model + "<tds:SerialNumber>")
    assert not schemas[NS["tds"]].validate(etree.ElementTree(_reply_element(swapped)))


def test_not_authorized_fault_is_soap12_with_ter_subcode() -> None:
    document = etree.fromstring(fault_envelope(SoapFault.not_authorized()))
    values = document.xpath("//env:Code//env:Value/text()", namespaces={"env": NS["env"]})
    assert values == ["env:Sender", "ter:NotAuthorized"]


def test_unknown_operation_is_action_not_supported() -> None:
    request = parse_soap_request(_request(NS["tds"], "SystemReboot"))
    with pytest.raises(SoapFault) as caught:
        device_reply(VIEW, request, datetime.now(UTC))
    assert caught.value.subcodes == ("ter:ActionNotSupported",)


def test_malformed_xml_is_a_sender_fault() -> None:
    with pytest.raises(SoapFault) as caught:
        parse_soap_request(b"<env:Envelope")
    assert caught.value.code == "env:Sender"
