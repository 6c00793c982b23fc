"""UplinkService: the gateway's side of every upper platform, as the process runs it.

Owns the SIP endpoint and one registration per enabled platform (increment 2); this
module is the face ``gateway.app`` and the web layer see: the device ID, the bound SIP
address, and each platform's state.
"""

from __future__ import annotations

import logging
from typing import Any

from core import Database, UplinkSettings

from ._config import derive_device_id
from ._platforms import PlatformStore, root_unit_code

__all__ = ["UplinkService"]

log = logging.getLogger("uplink")


class UplinkService:
    def __init__(self, db: Database, store: PlatformStore, settings: UplinkSettings) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self._device_id: str | None = None
        self._sip_port: int | None = None

    @property
    def device_id(self) -> str:
        if self._device_id is None:
            raise RuntimeError("the uplink has not started: its device ID is not known yet")
        return self._device_id

    async def resolve_device_id(self) -> str:
        if self._device_id is None:
            self._device_id = derive_device_id(
                await root_unit_code(self.db), self.settings.device_id
            )
        return self._device_id

    @property
    def sip_address(self) -> tuple[str, int]:
        """Where the SIP endpoint listens: the bound port once started (setting 0 = any)."""
        return self.settings.sip_host, self._sip_port or self.settings.sip_port

    def status(self, platform_id: int) -> dict[str, Any] | None:
        """This process's live view of a platform's registration; None when not run here."""
        return None
