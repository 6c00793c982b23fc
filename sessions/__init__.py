"""Live view over WebRTC without transcoding, and talk-back into the room.

:class:`LiveSessions` answers WHEP-style offers: a viewer gets the camera's H.264 access
units as received (aiortc packs them; nothing is encoded) and its G.711 audio (AAC is
transcoded to Opus); a talker's microphone reaches the camera speaker as G.711 in steady
20 ms packets through the ONVIF backchannel, one talker per camera (the talk floor).
Every session is authorized by unit scope, audited at start and stop, and owned until
closed.
"""

from ._broadcast import BroadcastTalk
from ._errors import (
    CameraNotLiveError,
    InvalidOfferError,
    ListenOnlyError,
    SessionError,
    SessionNotFoundError,
    SessionsClosedError,
    TalkFloorBusyError,
    TalkTakeoverDeniedError,
)
from ._floor import FloorHolder
from ._manager import LiveSessions
from ._sdp import OfferedMedia, parse_offer
from ._session import (
    CameraRef,
    HubSource,
    SessionAnswer,
    SessionInfo,
    answer_offer,
    codec_preferences,
    discard,
    new_peer,
)
from ._settings import IceServer, LiveSettings
from ._talk import TalkPump

__all__ = [
    "BroadcastTalk",
    "CameraNotLiveError",
    "CameraRef",
    "FloorHolder",
    "HubSource",
    "IceServer",
    "InvalidOfferError",
    "ListenOnlyError",
    "LiveSessions",
    "LiveSettings",
    "OfferedMedia",
    "SessionAnswer",
    "SessionError",
    "SessionInfo",
    "SessionNotFoundError",
    "SessionsClosedError",
    "TalkFloorBusyError",
    "TalkPump",
    "TalkTakeoverDeniedError",
    "answer_offer",
    "codec_preferences",
    "discard",
    "new_peer",
    "parse_offer",
]
