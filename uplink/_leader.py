"""Which gateway process runs the SIP endpoint when several share one PostgreSQL.

A GB/T 28181 platform knows the gateway as one device ID at one address, so exactly one
process registers: the oldest live one — the earliest ``started_at`` among the
``gateway_nodes`` that renewed within the lease TTL (the camera leases' heartbeat, so no
second election mechanism).  When it dies its heartbeat stops, and within a TTL the next
oldest takes over: it binds the SIP port and registers again (a new Call-ID: the
platform treats it as the device coming back, from a new address if on another box).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import column, func, select, table

from core import Database, UTCDateTime

__all__ = ["sip_leader"]

_NODES = table(
    "gateway_nodes",
    column("id"),
    column("started_at", UTCDateTime()),
    column("heartbeat_at", UTCDateTime()),
)


async def sip_leader(db: Database, ttl: float) -> str | None:
    """The node id of the process that should run the SIP endpoint; None if none is live."""
    async with db.read() as session:
        if db.engine.dialect.name == "postgresql":
            now = await session.scalar(select(func.now()))
        else:
            now = datetime.now(UTC)
        assert isinstance(now, datetime)
        row = (
            await session.execute(
                select(_NODES.c.id)
                .where(_NODES.c.heartbeat_at >= now - timedelta(seconds=ttl))
                .order_by(_NODES.c.started_at, _NODES.c.id)
                .limit(1)
            )
        ).first()
    return str(row[0]) if row is not None else None
