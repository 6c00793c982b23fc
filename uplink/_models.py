"""The upper platforms table: one row per GB/T 28181 platform the gateway registers to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime, utcnow

__all__ = ["UplinkPlatform"]


class UplinkPlatform(Base):
    """An upper platform (上级平台: the county's Xueliang platform, a wvp, a Hikvision 平台).

    ``password`` is sealed with the gateway's SecretBox bound to ``uplink-platform:<id>``,
    like camera credentials.  ``cameras`` is None for "every camera in the unit's scope",
    else the ids it may see.  ``state`` is what the process that runs the SIP endpoint
    last published about the registration (any process shows it).
    """

    __tablename__ = "uplink_platforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12), index=True)  # whose cameras it sees
    name: Mapped[str] = mapped_column(String(200))
    server_id: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(10))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(3))  # "udp" or "tcp"
    username: Mapped[str] = mapped_column(String(100), default="")  # "" = the device ID
    password: Mapped[str] = mapped_column(Text)  # sealed
    expires: Mapped[int] = mapped_column(Integer, default=3600)
    keepalive_interval: Mapped[int] = mapped_column(Integer, default=60)
    keepalive_misses: Mapped[int] = mapped_column(Integer, default=3)
    charset: Mapped[str] = mapped_column(String(8), default="GB2312")
    version: Mapped[str] = mapped_column(String(4), default="2016")
    cameras: Mapped[list[int] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
