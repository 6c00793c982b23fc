"""The GB/T 28181 link to upper platforms (the county's Xueliang platform): the gateway as
a lower device — platforms' settings, SIP registration and keepalive, catalog, live.

Layout: pure cores (``_config``, ``_register``, ``_transactions``) and thin asyncio shells
(``_transport``, ``_platform``, ``_service``).  ``gateway.app`` builds an
:class:`UplinkService` and owns its lifetime.
"""

from ._config import PlatformConfig, derive_device_id, validate_platform
from ._models import UplinkPlatform
from ._platforms import PlatformChanges, PlatformStore, root_unit_code
from ._service import UplinkService

__all__ = [
    "PlatformChanges",
    "PlatformConfig",
    "PlatformStore",
    "UplinkPlatform",
    "UplinkService",
    "derive_device_id",
    "root_unit_code",
    "validate_platform",
]
