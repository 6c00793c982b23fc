"""A viewer's session: the camera's H.264 as received, and its audio if the browser takes it.

Nothing is encoded: the hub's access units go to aiortc's sender as packets (see
:mod:`sessions._hub_tracks`).  The viewer holds a lease on the stream it watches — main,
or sub for grid tiles — until it ends, so a sub stream runs only while someone watches it.

A viewer survives a camera reconnect: its subscription is to the camera's hub, which
outlives RTSP sessions; the timeline re-anchors and the picture resumes at the next
keyframe.
"""

from __future__ import annotations

import secrets

from aiortc import MediaStreamTrack, RTCPeerConnection

from camera_registry import HubLease, Stream
from core import Database, Principal
from sessions._hub_tracks import HubVideoTrack, audio_track_for
from sessions._sdp import check_view_offer
from sessions._session import (
    CameraRef,
    HubSource,
    PeerSession,
    SessionAnswer,
    answer_offer,
    codec_preferences,
    discard,
    new_peer,
)
from sessions._settings import LiveSettings

__all__ = ["ViewSession"]


class ViewSession(PeerSession):
    """One viewer of one camera stream."""

    kind = "view"

    def __init__(
        self,
        session_id: str,
        camera: CameraRef,
        principal: Principal,
        pc: RTCPeerConnection,
        tracks: list[MediaStreamTrack],
        lease: HubLease,
        audio: str | None,
        *,
        db: Database,
        settings: LiveSettings,
    ) -> None:
        super().__init__(session_id, camera, principal, pc, db=db, settings=settings, tracks=tracks)
        self.lease = lease  # the hub watched, released when the session ends
        self.audio = audio  # the audio MIME type sent; None: video only

    @classmethod
    async def negotiate(
        cls,
        source: HubSource,
        principal: Principal,
        camera: CameraRef,
        offer: str,
        *,
        stream: Stream,
        db: Database,
        settings: LiveSettings,
    ) -> tuple[ViewSession, SessionAnswer]:
        """Answer a WHEP offer; the session is ready to :meth:`start`.

        ``stream="sub"`` serves the camera's sub stream, or main when it has none; the
        answer's ``stream`` says which.  The caller has authorized ``principal``.
        """
        offered = check_view_offer(offer)
        lease = await source.acquire_hub(camera.camera_id, stream)
        hub = lease.hub
        pc = new_peer(settings)
        tracks: list[MediaStreamTrack] = []
        audio_mime: str | None = None
        try:
            video = HubVideoTrack(hub, max_lag=settings.video_max_lag)
            tracks.append(video)
            transceiver = pc.addTransceiver(video, direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences("video", ("video/H264", "video/rtx")))
            audio, mime = audio_track_for(hub)
            wanted = {
                f"audio/{c}".lower()
                for m in offered
                if m.kind == "audio" and m.receives
                for c in m.codecs
            }
            if audio is not None and mime is not None and mime.lower() in wanted:
                tracks.append(audio)
                transceiver = pc.addTransceiver(audio, direction="sendonly")
                transceiver.setCodecPreferences(codec_preferences("audio", (mime,)))
                audio_mime = mime
            elif audio is not None:
                audio.stop()  # the browser cannot take this codec: video only
            answer = await answer_offer(pc, offer, settings)
        except BaseException:
            await discard(pc, tracks)
            lease.release()
            raise
        session = cls(
            secrets.token_urlsafe(18),
            camera,
            principal,
            pc,
            tracks,
            lease,
            audio_mime,
            db=db,
            settings=settings,
        )
        return session, SessionAnswer(session.id, answer, audio_mime, lease.stream)

    def _start_detail(self) -> dict[str, object]:
        return {"audio": self.audio, "stream": self.lease.stream}

    async def _close(self) -> dict[str, object]:
        detail = await super()._close()
        self.lease.release()
        return detail
