"""A self-signed certificate for serving HTTPS on the LAN (``python -m gateway tls-cert``).

Browsers open the microphone only in a secure context: ``http://localhost`` counts, a LAN
address does not.  The certificate names every address and host name a browser may use
(subject alternative names); each browser trusts it once (or the county's IT installs it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Iterable

import ifaddr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["lan_names", "self_signed_certificate"]


def lan_names() -> list[str]:
    """This machine's host name, ``localhost`` and its IPv4/IPv6 interface addresses."""
    names = ["localhost", socket.gethostname()]
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                names.append(ip.ip)
            elif not ip.ip[0].startswith("fe80"):
                names.append(ip.ip[0])  # link-local IPv6 needs a zone id browsers drop
    return list(dict.fromkeys(n for n in names if n))


def self_signed_certificate(
    names: Iterable[str], *, days: int = 825, now: dt.datetime | None = None
) -> tuple[bytes, bytes]:
    """PEM certificate and PEM private key (ECDSA P-256) valid for ``names``.

    825 days is the longest validity browsers accept for a TLS server certificate.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        raise ValueError("a certificate needs at least one host name or address")
    alt: list[x509.GeneralName] = []
    for name in wanted:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, wanted[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zongzhi-gateway (self-signed)"),
        ]
    )
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
