"""The link to the upper platforms: the GB/T 28181 device role and the RTSP restream
server for platforms and NVRs that pull (``rtsp://gateway:8554/cameras/{id}``)."""

from ._restream_accounts import NewRestreamAccount, RestreamAccounts, RestreamCredential
from ._restream_models import RestreamAccount
from ._restream_server import RestreamServer
from ._restream_wire import NonceBook, RestreamPath, parse_path, parse_transport

__all__ = [
    "NewRestreamAccount",
    "NonceBook",
    "RestreamAccount",
    "RestreamAccounts",
    "RestreamCredential",
    "RestreamPath",
    "RestreamServer",
    "parse_path",
    "parse_transport",
]
