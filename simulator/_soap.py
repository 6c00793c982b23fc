"""SOAP 1.2 envelopes for the camera's ONVIF services: parse requests, write replies.

Pure code.  Replies are written as text with the ONVIF prefixes declared once on the
Envelope; the element order follows the WSDL/XSD shipped with the ONVIF client, which
zeep validates against.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ._auth import UsernameToken

__all__ = [
    "NS",
    "SoapFault",
    "SoapRequest",
    "envelope",
    "fault_envelope",
    "parse_soap_request",
    "text",
]

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
}
_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_DIGEST_SUFFIX = "#PasswordDigest"


class SoapFault(Exception):
    """A fault to return to the client, e.g. ``env:Sender`` / ``ter:NotAuthorized``."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str, status: int) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason
        self.status = status

    @classmethod
    def not_authorized(cls) -> SoapFault:
        return cls("env:Sender", ("ter:NotAuthorized",), "Sender not Authorized", 400)

    @classmethod
    def action_not_supported(cls, operation: str) -> SoapFault:
        return cls(
            "env:Receiver",
            ("ter:ActionNotSupported",),
            f"Optional action {operation} is not implemented by this device",
            500,
        )

    @classmethod
    def invalid_arg(cls, subcode: str, reason: str) -> SoapFault:
        return cls("env:Sender", ("ter:InvalidArgVal", subcode), reason, 400)


@dataclass(frozen=True, slots=True)
class SoapRequest:
    namespace: str
    operation: str
    body: ET.Element
    token: UsernameToken | None

    def find_text(self, local_name: str) -> str | None:
        """Text of the first descendant of the operation element with this local name."""
        for element in self.body.iter():
            if element.tag.rpartition("}")[2] == local_name and element.text:
                return element.text.strip()
        return None


def _local(tag: str) -> tuple[str, str]:
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, local


def parse_soap_request(data: bytes) -> SoapRequest:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapFault(
            "env:Sender", ("ter:WellFormed",), f"XML is not well formed: {exc}", 400
        ) from exc
    namespace, local = _local(root.tag)
    if local != "Envelope" or namespace not in (NS["env"], _SOAP11):
        raise SoapFault("env:Sender", (), "the request is not a SOAP envelope", 400)
    body = root.find(f"{{{namespace}}}Body")
    if body is None or len(body) == 0:
        raise SoapFault("env:Sender", (), "the SOAP envelope has no Body operation", 400)
    operation = body[0]
    op_namespace, op_name = _local(operation.tag)
    return SoapRequest(op_namespace, op_name, operation, _username_token(root, namespace))


def _username_token(root: ET.Element, soap_ns: str) -> UsernameToken | None:
    header = root.find(f"{{{soap_ns}}}Header")
    if header is None:
        return None
    token = header.find(f"{{{_WSSE}}}Security/{{{_WSSE}}}UsernameToken")
    if token is None:
        return None
    password = token.find(f"{{{_WSSE}}}Password")
    nonce_text = token.findtext(f"{{{_WSSE}}}Nonce") or ""
    try:
        nonce = base64.b64decode(nonce_text.strip(), validate=True)
    except binascii.Error:
        return None
    return UsernameToken(
        username=(token.findtext(f"{{{_WSSE}}}Username") or "").strip(),
        password=(password.text or "").strip() if password is not None else "",
        digest=password is not None and password.get("Type", "").endswith(_DIGEST_SUFFIX),
        nonce=nonce,
        created=(token.findtext(f"{{{_WSU}}}Created") or "").strip(),
    )


def text(value: object) -> str:
    """Escape a value for element content or a double-quoted attribute."""
    return escape(str(value), {'"': "&quot;"})


def envelope(body: str) -> bytes:
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {declarations}>'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def fault_envelope(fault: SoapFault) -> bytes:
    subcode = ""
    for value in reversed(fault.subcodes):
        subcode = f"<env:Subcode><env:Value>{value}</env:Value>{subcode}</env:Subcode>"
    return envelope(
        f"<env:Fault><env:Code><env:Value>{fault.code}</env:Value>{subcode}</env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{text(fault.reason)}</env:Text></env:Reason>'
        "</env:Fault>"
    )
