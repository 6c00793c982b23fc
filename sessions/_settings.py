"""Settings of live view and talk-back: ICE servers, advertised addresses, time limits.

Pure dataclasses, built once from the ``[webrtc]`` settings and handed to
:class:`~sessions.LiveSessions`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from core import Level, WebRtcSettings

__all__ = ["IceServer", "LiveSettings"]


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server (``turn:host:3478?transport=udp``) with its credentials."""

    urls: str
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True, slots=True)
class LiveSettings:
    #: No STUN by default: on an offline LAN aiortc would wait for Google's server.
    ice_servers: tuple[IceServer, ...] = ()
    #: Extra addresses to advertise as host candidates (1:1 NAT, a second interface).
    advertise_hosts: tuple[str, ...] = ()
    #: seconds for ICE + DTLS to connect (a LAN browser needs under one; TURN a few)
    connect_timeout: float = 10.0
    #: seconds a connected peer may stay "disconnected" before its session is ended
    disconnect_grace: float = 5.0
    talk_max_seconds: float = 15 * 60.0  # a forgotten talk session ends by itself
    talk_idle_seconds: float = 15.0  # no audio from the browser for this long: hung up
    max_sessions: int = 256  # per gateway process
    #: fair shares of it: one caller (person or machine account), one camera, and the
    #: last places, kept for county-level callers so a lower level cannot crowd them out.
    #: A caller's share follows its level: a village watches its own few rooms, while a
    #: township or the county keeps a wall open (a 4 × 4 wall is 16 sessions)
    max_per_caller: int = 8  # village
    max_per_caller_township: int = 24
    max_per_caller_county: int = 48
    max_per_camera: int = 32
    county_reserve: int = 16
    video_max_lag: float = 1.0  # seconds a viewer may fall behind before skipping ahead

    def per_caller(self, level: Level) -> int:
        """How many live sessions one caller of ``level`` may hold at once."""
        if level is Level.COUNTY:
            return self.max_per_caller_county
        if level is Level.TOWNSHIP:
            return self.max_per_caller_township
        return self.max_per_caller

    @classmethod
    def from_settings(cls, webrtc: WebRtcSettings) -> LiveSettings:
        """From the ``[webrtc]`` settings; a bad address raises ``ValueError`` naming it."""
        hosts = tuple(h.strip() for h in webrtc.advertise_hosts.split(",") if h.strip())
        for host in hosts:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(
                    f"setting webrtc.advertise_hosts must list IP addresses, got {host!r}"
                ) from None
        servers: tuple[IceServer, ...] = ()
        if webrtc.ice_url:
            if not webrtc.ice_url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(
                    f"setting webrtc.ice_url must be a stun:, turn: or turns: URL, "
                    f"got {webrtc.ice_url!r}"
                )
            servers = (
                IceServer(webrtc.ice_url, webrtc.ice_username or None, webrtc.ice_password or None),
            )
        return cls(
            ice_servers=servers,
            advertise_hosts=hosts,
            talk_max_seconds=webrtc.talk_max_minutes * 60.0,
        )
