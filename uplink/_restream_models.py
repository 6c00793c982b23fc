"""The restream's table: one account per pulling machine (一机一账号)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, UTCDateTime, utcnow

__all__ = ["RestreamAccount"]


class RestreamAccount(Base):
    """An RTSP client (a platform, an NVR) allowed to pull the cameras of one unit's subtree.

    RTSP Digest needs the password on the server side (it hashes it with the nonce), so
    the password is sealed under ``secret.key`` like a camera's, never stored in clear.
    """

    __tablename__ = "restream_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    password_sealed: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
