"""The link to upper platforms (the county's Xueliang platform): the gateway as a GB/T 28181
lower device — platforms' settings, SIP registration and keepalive, catalog, live — and the
RTSP restream for platforms and NVRs that pull (``rtsp://gateway:8554/cameras/{id}``).

Layout: pure cores (``_config``, ``_register``, ``_transactions``, ``_restream_wire``) and
thin asyncio shells (``_transport``, ``_platform``, ``_service``, ``_restream_server``).
``gateway.app`` builds an :class:`UplinkService` and a :class:`RestreamServer` and owns
their lifetime.
"""

from ._broadcast import BroadcastCalls, BroadcastFloor, BroadcastSink
from ._channels import Channel, ChannelSource, civil_code, speaker_id
from ._config import PlatformConfig, derive_device_id, validate_platform
from ._dispatch import Dialog, DialogTable, IncomingCall, InviteRouter, QueryRouter
from ._errors import RegistrationError, UplinkError
from ._leader import sip_leader
from ._live import RemoteMedia, RemoteStream
from ._models import UplinkPlatform
from ._offer import MediaOffer
from ._platform import MANSCDP_TYPE, LinkTiming, PlatformLink
from ._platforms import PlatformChanges, PlatformStore, root_unit_code
from ._playback_calls import PlaybackCalls
from ._relay import MediaRelays
from ._restream_accounts import NewRestreamAccount, RestreamAccounts, RestreamCredential
from ._restream_models import RestreamAccount
from ._restream_server import Owner as RestreamOwner
from ._restream_server import RestreamServer
from ._restream_wire import NonceBook, RestreamPath, parse_path, parse_transport
from ._service import UplinkService
from ._transactions import Timers
from ._transport import Peer, SipEndpoint, SipTimeoutError, SipTransportError

__all__ = [
    "MANSCDP_TYPE",
    "BroadcastCalls",
    "BroadcastFloor",
    "BroadcastSink",
    "Channel",
    "ChannelSource",
    "Dialog",
    "DialogTable",
    "IncomingCall",
    "InviteRouter",
    "LinkTiming",
    "MediaOffer",
    "MediaRelays",
    "NewRestreamAccount",
    "NonceBook",
    "Peer",
    "PlatformChanges",
    "PlatformConfig",
    "PlatformLink",
    "PlatformStore",
    "PlaybackCalls",
    "QueryRouter",
    "RegistrationError",
    "RemoteMedia",
    "RemoteStream",
    "RestreamAccount",
    "RestreamAccounts",
    "RestreamCredential",
    "RestreamOwner",
    "RestreamPath",
    "RestreamServer",
    "SipEndpoint",
    "SipTimeoutError",
    "SipTransportError",
    "Timers",
    "UplinkError",
    "UplinkPlatform",
    "UplinkService",
    "civil_code",
    "derive_device_id",
    "parse_path",
    "parse_transport",
    "root_unit_code",
    "sip_leader",
    "speaker_id",
    "validate_platform",
]
