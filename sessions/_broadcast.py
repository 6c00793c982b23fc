"""A talker that is not a browser: G.711 from an upper platform's voice broadcast (GB/T
28181 语音广播), played into the room through the camera's backchannel.

It takes the camera's talk floor like a browser talker — refused with who holds it when
busy, taken over by a chair, ending a browser talker only when itself asked to take
over — and is audited the same way (``live.talk.start``/``.stop``, with the source).
Audio arrives in whatever packets the platform sends; the same pacer as browser talk
sends it on in steady 20 ms packets, converted to the camera's G.711 law when the
platform uses the other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

from core import Database, Principal, record
from media import g711_decode, g711_encode
from sessions._errors import CameraNotLiveError, ListenOnlyError
from sessions._floor import FloorHolder, TalkFloors
from sessions._session import CameraRef, HubSource
from sessions._settings import LiveSettings
from sessions._talk import TalkPump

__all__ = ["BroadcastTalk"]

log = logging.getLogger("gateway.sessions.broadcast")

TalkListener = Callable[[int, str | None], None]


class BroadcastTalk:
    """One platform's broadcast into one camera's room, holding that camera's floor.

    ``feed(g711, codec)`` plays audio; ``await end(reason)`` gives the floor back;
    ``ended`` is set however it ends (hung up by the platform, taken over by a chair,
    no audio for ``talk_idle_seconds``, the talk time limit, shutdown), and ``reason``
    says why.
    """

    kind = "broadcast"

    def __init__(
        self,
        camera: CameraRef,
        principal: Principal,
        pump: TalkPump,
        *,
        source: str,
        floors: TalkFloors,
        displaced: FloorHolder | None,
        on_talker: TalkListener | None,
        db: Database,
        settings: LiveSettings,
        actor: str | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(18)
        #: how the audit log and the floor name the talker (``platform:县雪亮平台``)
        self.actor = actor or principal.actor
        self.camera = camera
        self.principal = principal
        self.pump = pump
        self.source = source
        self.displaced = displaced
        self.opened = time.monotonic()
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.bytes_received = 0
        self._floors = floors
        self._on_talker = on_talker
        self._db = db
        self._settings = settings
        self._on_end: Callable[[BroadcastTalk], None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    def claim(
        cls,
        source_of_cameras: HubSource,
        principal: Principal,
        camera: CameraRef,
        *,
        source: str,
        holder_name: str,
        takeover: bool,
        actor: str | None = None,
        floors: TalkFloors,
        on_talker: TalkListener | None,
        db: Database,
        settings: LiveSettings,
    ) -> BroadcastTalk:
        """Take the camera's floor for a broadcast (not started yet).

        Raises :class:`TalkFloorBusyError` when someone else talks and ``takeover`` is
        false, :class:`CameraNotLiveError` / :class:`ListenOnlyError` when the camera
        cannot play it.
        """
        ingest = source_of_cameras.ingest(camera.camera_id)
        client = ingest.client
        if client is None:
            raise CameraNotLiveError("the camera is offline; its speaker cannot play a broadcast")
        if client.backchannel is None:
            raise ListenOnlyError(client.listen_only_reason or "the camera has no backchannel")
        codec = client.backchannel.codec
        pump = TalkPump(None, ingest.send_talk, codec, name=f"broadcast {camera.camera_id}")
        talk = cls(
            camera,
            principal,
            pump,
            source=source,
            floors=floors,
            displaced=None,
            on_talker=on_talker,
            db=db,
            settings=settings,
            actor=actor,
        )
        holder = FloorHolder(talk.id, talk.actor, holder_name, time.time())
        talk.displaced = floors.claim(str(camera.camera_id), holder, takeover=takeover)
        return talk

    @property
    def codec(self) -> str:
        """The camera's backchannel law (what reaches the speaker)."""
        return self.pump.codec

    def feed(self, g711: bytes, codec: str) -> None:
        """Play ``g711`` (``"PCMA"`` or ``"PCMU"``) into the room."""
        if self.ended.is_set() or not g711:
            return
        self.bytes_received += len(g711)
        if codec != self.pump.codec:
            g711 = g711_encode(g711_decode(g711, codec), self.pump.codec)
        self.pump.feed(g711)

    async def start(self, on_end: Callable[[BroadcastTalk], None]) -> None:
        """Audit the start, then send what is fed to the speaker."""
        self._on_end = on_end
        try:
            await self._audit("start", self._start_detail())
        except BaseException:
            self._floors.release(str(self.camera.camera_id), self.id)
            raise
        self.pump.start()
        if self._on_talker is not None:
            self._on_talker(self.camera.camera_id, self.principal.name)
        self._watch = asyncio.create_task(self._run_watch(), name=f"broadcast watch {self.id[:8]}")

    def _start_detail(self) -> dict[str, object]:
        detail: dict[str, object] = {"source": self.source, "codec": self.pump.codec}
        if self.displaced is not None:
            detail["displaced"] = self.displaced.actor
            detail["displaced_session"] = self.displaced.session_id[:8]
        return detail

    async def _run_watch(self) -> None:
        settings = self._settings
        while not self.ended.is_set():
            await asyncio.sleep(1.0)
            now = time.monotonic()
            if now - self.opened > settings.talk_max_seconds:
                await self.end(f"talk time limit ({settings.talk_max_seconds / 60:.0f} min)")
            elif now - max(self.pump.last_audio_at, self.opened) > settings.talk_idle_seconds:
                await self.end(f"no audio for {settings.talk_idle_seconds:.0f} s")

    async def end(self, reason: str) -> None:
        """Stop playing, give the floor back, audit the end; idempotent (later callers
        wait for the first)."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
            return
        self._closing = asyncio.get_running_loop().create_future()
        self.reason = reason
        try:
            key = str(self.camera.camera_id)
            self._floors.release(key, self.id)
            if self._on_talker is not None and self._floors.holder(key) is None:
                self._on_talker(self.camera.camera_id, None)
            self.ended.set()
            watch, self._watch = self._watch, None
            if watch is not None and watch is not asyncio.current_task():
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            await self.pump.close()
            if self._on_end is not None:
                self._on_end(self)
                detail = {
                    "reason": reason,
                    "seconds": round(time.monotonic() - self.opened, 1),
                    "packets": self.pump.packets_sent,
                    "bytes": self.bytes_received,
                }
                try:
                    await self._audit("stop", detail)
                except Exception:
                    log.exception("could not audit the end of a broadcast")
        finally:
            self._closing.set_result(None)

    async def _audit(self, event: str, detail: dict[str, object]) -> None:
        async with self._db.transaction() as db_session:
            await record(
                db_session,
                self.actor if self.actor != self.principal.actor else self.principal,
                f"live.talk.{event}",
                object_type="camera",
                object_id=self.camera.camera_id,
                unit_code=self.camera.unit_code,
                detail={"session": self.id[:8], **detail},
            )
