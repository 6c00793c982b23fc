"""The cameras table: one row per registered camera, in one room of one unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime, utcnow

__all__ = ["Camera", "CameraLease", "GatewayNode"]


class Camera(Base):
    """A two-way-audio camera in a reception or mediation room (一机一账号: its own account).

    ``credentials`` is sealed with the gateway's SecretBox, bound to ``camera:<id>``, so a
    sealed value copied onto another row does not open.
    """

    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(8))  # "onvif" or "rtsp"
    onvif_host: Mapped[str | None] = mapped_column(String(255))
    onvif_port: Mapped[int | None] = mapped_column(Integer)
    credentials: Mapped[str] = mapped_column(Text)  # sealed JSON {"username", "password"}
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    serial: Mapped[str] = mapped_column(String(100), default="")
    firmware: Mapped[str] = mapped_column(String(100), default="")
    main_profile: Mapped[str | None] = mapped_column(String(64))
    rtsp_url: Mapped[str] = mapped_column(String(500), unique=True)  # main stream, no userinfo
    sub_profile: Mapped[str | None] = mapped_column(String(64))
    sub_rtsp_url: Mapped[str | None] = mapped_column(String(500))
    snapshot_uri: Mapped[str | None] = mapped_column(String(500))
    profiles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    audio_outputs: Mapped[str] = mapped_column(String(200), default="")  # speaker tokens
    audio_decoders: Mapped[str] = mapped_column(String(200), default="")  # "G711,AAC"
    backchannel_codecs: Mapped[str] = mapped_column(String(200), default="")  # "PCMU,PCMA"
    talk: Mapped[bool] = mapped_column(Boolean, default=False)
    talk_reason: Mapped[str | None] = mapped_column(String(300))  # why listen-only
    clock_offset: Mapped[float | None] = mapped_column(Float)  # camera minus gateway, s
    clock_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: GB/T 28181 channel ID (20 digits, type 131/132) the upper platforms know it by:
    #: assigned at registration from the unit's code and the camera id, editable.
    gb_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GatewayNode(Base):
    """One running gateway process: several share a PostgreSQL database (and the cameras)."""

    __tablename__ = "gateway_nodes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, per start
    url: Mapped[str] = mapped_column(String(200), default="")  # where the others reach it
    host: Mapped[str] = mapped_column(String(100), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CameraLease(Base):
    """Which process runs a camera, until when; the owner's last published state.

    ``generation`` grows with every change of owner: it tells a takeover from a renewal.
    """

    __tablename__ = "camera_leases"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str | None] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    generation: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_node: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
