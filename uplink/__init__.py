"""The GB/T 28181 link to upper platforms (the county's Xueliang platform): the gateway as
a lower device — platforms' settings, SIP registration and keepalive, catalog, live.

Layout: pure cores (``_config``, ``_register``, ``_transactions``) and thin asyncio shells
(``_transport``, ``_platform``, ``_service``).  ``gateway.app`` builds an
:class:`UplinkService` and owns its lifetime.
"""

from ._config import PlatformConfig, derive_device_id, validate_platform
from ._dispatch import Dialog, DialogTable, IncomingCall, InviteRouter, QueryRouter
from ._errors import RegistrationError, UplinkError
from ._models import UplinkPlatform
from ._platform import MANSCDP_TYPE, LinkTiming, PlatformLink
from ._platforms import PlatformChanges, PlatformStore, root_unit_code
from ._service import UplinkService
from ._transactions import Timers
from ._transport import Peer, SipEndpoint, SipTimeoutError, SipTransportError

__all__ = [
    "MANSCDP_TYPE",
    "Dialog",
    "DialogTable",
    "IncomingCall",
    "InviteRouter",
    "LinkTiming",
    "Peer",
    "PlatformChanges",
    "PlatformConfig",
    "PlatformLink",
    "PlatformStore",
    "QueryRouter",
    "RegistrationError",
    "SipEndpoint",
    "SipTimeoutError",
    "SipTransportError",
    "Timers",
    "UplinkError",
    "UplinkPlatform",
    "UplinkService",
    "derive_device_id",
    "root_unit_code",
    "validate_platform",
]
