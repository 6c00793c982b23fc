"""One meeting's room: an MCU that encodes once.

Each participant sends one stream and receives one — what a weak village link can carry.
The room decodes every participant's video (aiortc does, as it receives), keeps each
site's newest picture, and 15 times a second composes them into one picture
(:mod:`meetings._compose`) and encodes it **once**; the same H.264 packets go to every
participant, whose aiortc sender only packetizes them.  Every 20 ms it takes each site's
audio, mixes the speakers (:mod:`meetings._mix`) and encodes one Opus stream for all who
are silent plus one per speaker (their mix without their own voice).

Composing and encoding run in the room's own worker threads (one for pictures, one for
sound) so the event loop only moves packets.  A keyframe is made when someone joins and
when a receiver reports loss (PLI/FIR), at most every ``keyframe_interval`` seconds —
requests in between are merged into the next one.

A participant leaves on hang-up, when its connection fails, when nothing (media or RTCP)
has been heard from it for ``vanish_after`` seconds, when the chair removes it and when
the meeting ends; every join and leave goes to ``on_event`` (the append-only event log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame

from camera_registry import StreamHub
from core import Principal
from media import MediaFrame, TrackInfo, g711_encode
from meetings._camera import PcmTrack
from meetings._compose import Composer, CompositeEncoder, EncodedFrame, TileContent
from meetings._errors import InvalidMeetingInputError
from meetings._layout import Layout, Tile, compute_layout
from meetings._mix import CHUNK, RATE, Mixer, MixPlan
from meetings._tracks import AudioInbox, CompositeTrack, MixTrack, PacketQueue, VideoInbox
from sessions import (
    LiveSettings,
    answer_offer,
    codec_preferences,
    discard,
    new_peer,
    parse_offer,
)

__all__ = ["EventSink", "KeyframePolicy", "Participant", "Room", "RoomSettings"]

log = logging.getLogger("gateway.meetings.room")

#: Where the room reports what happens: ``(kind, participant, site, actor, detail)``.
EventSink = Callable[[str, str, str, str, dict[str, object]], Coroutine[Any, Any, None]]


SPEAKER_HOLD = 1.5  # seconds another voice must lead before the picture switches to it


@dataclass(frozen=True, slots=True)
class RoomSettings:
    width: int = 1280
    height: int = 720
    fps: int = 15
    bitrate: int = 1_200_000
    gop_seconds: float = 4.0
    keyframe_interval: float = 0.5  # at most one requested keyframe per this many seconds
    video_queue: int = 8  # pictures queued per participant before it drops its own
    vanish_after: float = 6.0  # nothing heard for this long: the participant is gone
    max_participants: int = 32
    gate_dbfs: float = -45.0
    max_speakers: int = 4
    record: bool = True  # record the composite and the mix (through ``recordings``)


@dataclass(eq=False)
class Participant:
    """One site in the room: its connection, what it sends, what it receives."""

    id: str
    site: str
    principal: Principal
    pc: RTCPeerConnection | None
    joined_at: float = field(default_factory=time.time)
    video_in: VideoInbox | None = None
    audio_in: AudioInbox | None = None
    video_out: CompositeTrack | None = None
    audio_out: MixTrack | None = None
    #: the muted flag the chair controls; ``unmute_forbidden`` stops the site unmuting itself
    muted: bool = False
    unmute_forbidden: bool = False
    hand_raised: bool = False
    last_heard: float = field(default_factory=time.monotonic)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: "browser" (a WebRTC peer) or "camera" (a room camera: hub in, backchannel out)
    kind: str = "browser"
    camera_id: int | None = None
    #: a room camera hears the mix as PCM (played through its backchannel)
    pcm_out: PcmTrack | None = None
    #: what else to close when it leaves (a room camera's hub lease and decoder)
    on_leave: Callable[[], Coroutine[Any, Any, None]] | None = None

    @property
    def actor(self) -> str:
        return self.principal.actor

    def heard(self) -> None:
        self.last_heard = time.monotonic()


@dataclass(slots=True)
class RollCallState:
    participant: str
    site: str
    called_at: float  # time.time()
    answered_at: float | None = None


_RECORDING = "\x00recording"  # the key of the recording's audio among the payloads


def _pcm_frame(samples: Any, pts: int) -> AudioFrame:
    frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = pts
    frame.time_base = Fraction(1, RATE)
    return frame


class KeyframePolicy:
    """When the next picture must be a keyframe: asked for (a join, a PLI or FIR, a
    participant that dropped pictures) and at most one per ``interval`` seconds —
    requests in between are merged into the next one."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.wanted = True  # the first picture is a keyframe
        self.last = -1e9
        self.requests = 0
        self.forced = 0

    def request(self) -> None:
        self.requests += 1
        self.wanted = True

    def due(self, now: float) -> bool:
        if not self.wanted or now - self.last < self.interval:
            return False
        self.wanted = False
        self.last = now
        self.forced += 1
        return True


class Room:
    """The room of one running occurrence on this process."""

    def __init__(
        self,
        occurrence_id: str,
        *,
        chair: str,
        settings: RoomSettings,
        live: LiveSettings,
        on_event: EventSink,
    ) -> None:
        self.occurrence_id = occurrence_id
        self.chair = chair
        self.settings = settings
        self._live = live
        self._on_event = on_event
        self.participants: dict[str, Participant] = {}
        self.layout = Layout.GRID
        self.spotlight: str | None = None
        self.locked = False
        self.speaker: str | None = None
        self._composer = Composer(settings.width, settings.height)
        self._encoder = CompositeEncoder(
            settings.width,
            settings.height,
            fps=settings.fps,
            bitrate=settings.bitrate,
            gop_seconds=settings.gop_seconds,
        )
        self._mixer = Mixer(gate_dbfs=settings.gate_dbfs, max_speakers=settings.max_speakers)
        self._opus: dict[str, Any] = {}  # "shared" or a speaker's id → its Opus encoder
        self._video_pool = ThreadPoolExecutor(
            1, thread_name_prefix=f"meeting-video-{occurrence_id}"
        )
        self._audio_pool = ThreadPoolExecutor(
            1, thread_name_prefix=f"meeting-audio-{occurrence_id}"
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._leaving: dict[str, asyncio.Future[None]] = {}
        self._keyframes = KeyframePolicy(settings.keyframe_interval)
        self.pictures = 0
        self.audio_ticks = 0
        self.opus_encodes = 0
        self._closed = False
        self._speaker_since: dict[str, float] = {}
        self._candidate: str | None = None
        self._candidate_at = 0.0
        self._orphans: set[asyncio.Task[None]] = set()  # leaves started by the room itself
        #: the composite and the whole mix as a stream hub: what the recording reads
        self.hub = StreamHub(f"meeting:{occurrence_id}")
        self.hub.set_tracks(
            [
                TrackInfo(
                    "video", "H264", 96, 90_000, 0, "", "recvonly", {"packetization-mode": "1"}
                ),
                TrackInfo("audio", "PCMU", 0, 8000, 1, "", "recvonly"),
            ]
        )
        self._narrow = AudioResampler(format="s16", layout="mono", rate=8000)
        self._narrow_ts = 0
        self.recording_id: str | None = None
        self.admitted: set[str] = set()  # usernames the chair let into the locked room
        self.rollcall: RollCallState | None = None
        self.tour_interval: float | None = None
        self.tour_current: str | None = None
        self._tour_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        if self._tasks or self._closed:
            return
        name = self.occurrence_id
        self._tasks = [
            asyncio.create_task(self._video_loop(), name=f"meeting {name} video"),
            asyncio.create_task(self._audio_loop(), name=f"meeting {name} audio"),
            asyncio.create_task(self._watch_loop(), name=f"meeting {name} watch"),
        ]

    async def close(self, reason: str) -> None:
        """Everyone leaves (each leave recorded), the loops stop, the threads go; idempotent."""
        self._closed = True
        await self.stop_tour()
        await asyncio.gather(*(self.leave(pid, reason) for pid in list(self.participants)))
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Joining the worker threads waits for a decode in progress: off the loop.
        await asyncio.to_thread(self._video_pool.shutdown, wait=True, cancel_futures=True)
        await asyncio.to_thread(self._audio_pool.shutdown, wait=True, cancel_futures=True)
        self._encoder.close()
        self.hub.close(reason)

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ joining
    async def join(self, principal: Principal, site: str, offer: str) -> tuple[Participant, str]:
        """Answer a participant's offer; returns it and the SDP answer.

        An offer may send and receive audio and video (``sendrecv``), or only receive
        (a listener), or carry only one kind: the room serves what it has.
        """
        media = [m for m in parse_offer(offer) if m.kind in ("audio", "video") and m.port != 0]
        if not media:
            raise InvalidMeetingInputError("the offer has no audio or video to exchange")
        if any(m.kind == "video" for m in media) and not any(
            m.kind == "video" and "H264" in m.codecs for m in media
        ):
            raise InvalidMeetingInputError(
                "the offer's video has no H.264; the meeting picture is sent as H.264"
            )
        if len(self.participants) >= self.settings.max_participants:
            raise InvalidMeetingInputError(
                f"the room is full ({self.settings.max_participants} sites)"
            )
        pid = secrets.token_urlsafe(9)
        pc = new_peer(self._live)
        participant = Participant(pid, site, principal, pc)
        outgoing: list[MediaStreamTrack] = []
        receivers = []
        try:
            for m in media:
                track: MediaStreamTrack
                if m.kind == "video" and participant.video_out is None:
                    queue = PacketQueue(self.settings.video_queue, self.request_keyframe)
                    track = participant.video_out = CompositeTrack(queue)
                    transceiver = pc.addTransceiver(track, direction="sendrecv")
                    transceiver.setCodecPreferences(codec_preferences("video", ("video/H264",)))
                    self._hook_sender(transceiver.sender, participant)
                elif m.kind == "audio" and participant.audio_out is None:
                    track = participant.audio_out = MixTrack()
                    transceiver = pc.addTransceiver(track, direction="sendrecv")
                    transceiver.setCodecPreferences(codec_preferences("audio", ("audio/opus",)))
                    self._hook_sender(transceiver.sender, participant)
                else:
                    continue
                outgoing.append(track)
                if m.sends:
                    receivers.append((m.kind, transceiver.receiver))
            answer = await answer_offer(pc, offer, self._live)
        except BaseException:
            await discard(pc, outgoing)
            raise
        for kind, receiver in receivers:
            incoming = receiver.track  # aiortc makes it while taking the offer
            if incoming is None:
                continue
            if kind == "video":
                participant.video_in = VideoInbox()
                reader = self._read_video(participant, incoming, participant.video_in)
            else:
                participant.audio_in = AudioInbox()
                reader = self._read_audio(participant, incoming, participant.audio_in)
            participant.tasks.append(
                asyncio.create_task(reader, name=f"meeting {self.occurrence_id} {kind} in {pid}")
            )
        pc.on("connectionstatechange", lambda: self._state_changed(participant))
        self.participants[pid] = participant
        self.request_keyframe()
        try:
            await self._on_event(
                "join",
                pid,
                site,
                principal.actor,
                {"sends": [k for k, _ in receivers], "unit": principal.unit_code},
            )
        except BaseException:
            await self.leave(pid, "the join could not be recorded", record=False)
            raise
        log.info(
            "participant joined",
            extra={"meeting": self.occurrence_id, "site": site, "actor": principal.actor},
        )
        return participant, answer

    def admit(self, participant: Participant) -> None:
        """Add an endpoint that is not a browser (a room camera), already wired."""
        self.participants[participant.id] = participant
        self.request_keyframe()

    def _hook_sender(self, sender: RTCRtpSender, participant: Participant) -> None:
        """Honour PLI/FIR on a packet sender (aiortc ignores them without an encoder) and
        count every RTCP packet as a sign the participant is still there."""
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            participant.heard()
            await original(packet)

        setattr(sender, "_handle_rtcp_packet", handle)  # noqa: B010
        setattr(sender, "_send_keyframe", self.request_keyframe)  # noqa: B010

    async def _read_video(
        self, participant: Participant, track: MediaStreamTrack, inbox: VideoInbox
    ) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    inbox.put(frame)
                    participant.heard()

    async def _read_audio(
        self, participant: Participant, track: MediaStreamTrack, inbox: AudioInbox
    ) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    inbox.put(frame)
                    participant.heard()

    def _state_changed(self, participant: Participant) -> None:
        pc = participant.pc
        if pc is not None and pc.connectionState in ("failed", "closed"):
            self._spawn_leave(participant.id, f"disconnected ({pc.connectionState})")

    def _spawn_leave(self, pid: str, reason: str) -> None:
        if pid in self._leaving or pid not in self.participants:
            return
        task = asyncio.create_task(self.leave(pid, reason), name=f"meeting leave {pid}")
        # the leave registers itself in _leaving at once; the task is owned through it
        self._orphans.add(task)
        task.add_done_callback(self._orphans.discard)

    async def leave(self, pid: str, reason: str, *, record: bool = True) -> None:
        """The participant leaves: connection closed, its leave recorded; concurrent
        and repeated calls wait for the first."""
        if pid in self._leaving:
            await asyncio.shield(self._leaving[pid])
            return
        participant = self.participants.get(pid)
        if participant is None:
            return
        done = asyncio.get_running_loop().create_future()
        self._leaving[pid] = done
        try:
            self.participants.pop(pid, None)
            if self.spotlight == pid:
                self.spotlight = None
            if self.rollcall is not None and self.rollcall.participant == pid:
                self.rollcall = None
            for task in participant.tasks:
                task.cancel()
            for task in participant.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    try:
                        await task
                    except Exception:
                        log.exception(
                            "a participant's reader failed", extra={"site": participant.site}
                        )
            tracks: list[MediaStreamTrack] = [
                t for t in (participant.video_out, participant.audio_out) if t is not None
            ]
            if participant.pc is not None:
                await discard(participant.pc, tracks)
            else:
                for track in tracks:
                    track.stop()
            self._opus.pop(pid, None)
            if participant.on_leave is not None:
                try:
                    await participant.on_leave()
                except Exception:
                    log.exception(
                        "a room camera did not close cleanly", extra={"site": participant.site}
                    )
            if record:
                try:
                    await self._on_event(
                        "leave",
                        pid,
                        participant.site,
                        participant.actor,
                        {
                            "reason": reason,
                            "seconds": round(time.time() - participant.joined_at, 1),
                        },
                    )
                except Exception:
                    log.exception("could not record a leave", extra={"meeting": self.occurrence_id})
            log.info(
                "participant left",
                extra={"meeting": self.occurrence_id, "site": participant.site, "reason": reason},
            )
        finally:
            done.set_result(None)
            self._leaving.pop(pid, None)

    # ------------------------------------------------------------------ chair's tools
    def record(self, kind: str, participant: Participant | None, detail: dict[str, object]) -> None:
        """Append an event without waiting for it (the room's own observations)."""
        task = asyncio.create_task(
            self._on_event(
                kind,
                participant.id if participant else "",
                participant.site if participant else "",
                participant.actor if participant else "",
                detail,
            ),
            name=f"meeting {self.occurrence_id} {kind}",
        )
        self._orphans.add(task)
        task.add_done_callback(self._event_done)

    def _event_done(self, task: asyncio.Task[None]) -> None:
        self._orphans.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "could not record a meeting event",
                extra={"meeting": self.occurrence_id, "error": repr(task.exception())},
            )

    def call_roll(self, pid: str | None) -> None:
        """点名: ``pid`` full screen for everyone until it answers and the chair moves on;
        None ends the roll call."""
        if pid is None:
            self.rollcall = None
        else:
            participant = self.participants[pid]
            self.rollcall = RollCallState(pid, participant.site, time.time())
            self.record("rollcall", participant, {})
        self.request_keyframe()

    def answer_rollcall(self, pid: str, *, how: str) -> bool:
        call = self.rollcall
        if call is None or call.participant != pid or call.answered_at is not None:
            return False
        call.answered_at = time.time()
        participant = self.participants.get(pid)
        self.record(
            "rollcall_answer",
            participant,
            {"how": how, "seconds": round(call.answered_at - call.called_at, 1)},
        )
        return True

    def start_tour(self, interval: float) -> None:
        """轮巡: each site full screen in turn, ``interval`` seconds each."""
        if self._tour_task is not None:
            self._tour_task.cancel()
        self.tour_interval = interval
        self._tour_task = asyncio.create_task(
            self._tour(interval), name=f"meeting {self.occurrence_id} tour"
        )

    async def stop_tour(self) -> None:
        task, self._tour_task = self._tour_task, None
        self.tour_interval = None
        self.tour_current = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tour(self, interval: float) -> None:
        index = 0
        while True:
            ids = list(self.participants)
            if ids:
                index %= len(ids)
                self.tour_current = ids[index]
                self.request_keyframe()
                index += 1
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ pictures
    def request_keyframe(self) -> None:
        """A receiver lost pictures or someone joined: the next picture (or the first
        after the rate limit) is a keyframe."""
        self._keyframes.request()

    def focus(self) -> str | None:
        """The site everyone sees alone: called in the roll call, spotlit, or the tour's
        current site — in that order — else None."""
        for pid in (
            self.rollcall.participant if self.rollcall is not None else None,
            self.spotlight,
            self.tour_current,
        ):
            if pid is not None and pid in self.participants:
                return pid
        return None

    def tiles(self) -> list[Tile]:
        ids = list(self.participants)
        focus = self.focus()
        layout = Layout.SINGLE if focus is not None else self.layout
        focus = focus or self.speaker
        return compute_layout(
            layout, ids, focus=focus, width=self.settings.width, height=self.settings.height
        )

    def _contents(self) -> dict[str, TileContent]:
        out = {}
        for pid, p in self.participants.items():
            badges = []
            if p.muted:
                badges.append("静音")
            if p.hand_raised:
                badges.append("举手")
            frame = p.video_in.frame if p.video_in is not None else None
            out[pid] = TileContent(frame, p.site, tuple(badges))
        return out

    def _picture(
        self, tiles: list[Tile], contents: dict[str, TileContent], pts: int, keyframe: bool
    ) -> list[EncodedFrame]:
        picture = self._composer.compose(tiles, contents, speaker=self.speaker)
        return self._encoder.encode(picture, pts, keyframe=keyframe)

    async def _video_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.settings.fps
        started = loop.time()
        deadline = started
        while True:
            deadline += period
            receivers = [p for p in self.participants.values() if p.video_out is not None]
            if receivers:
                now = loop.time()
                keyframe = self._keyframes.due(now)
                pts = int((now - started) * 90_000)
                try:
                    encoded = await loop.run_in_executor(
                        self._video_pool,
                        self._picture,
                        self.tiles(),
                        self._contents(),
                        pts,
                        keyframe,
                    )
                except RuntimeError:
                    return  # the pool shut down: the room is closing
                self.pictures += 1
                arrival = time.monotonic()
                for frame in encoded:
                    for p in list(self.participants.values()):
                        if p.video_out is not None:
                            p.video_out.queue.push(frame)
                    # the recording (and anything else that reads a hub) gets it too
                    self.hub.publish(
                        MediaFrame(
                            "video", "H264", 90_000, frame.pts, frame.keyframe, frame.data, arrival
                        )
                    )
            delay = deadline - loop.time()
            if delay < -period:
                deadline = loop.time()  # behind (a slow machine): skip, do not burst
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))

    # ------------------------------------------------------------------ sound
    def _new_opus(self) -> Any:
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = RATE
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = 32_000
        codec.time_base = Fraction(1, RATE)
        codec.options = {"application": "voip", "frame_duration": "20"}
        return codec

    def _encode_opus(self, key: str, samples: Any, pts: int) -> bytes:
        codec = self._opus.get(key)
        if codec is None:
            codec = self._opus[key] = self._new_opus()
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = pts
        self.opus_encodes += 1
        return b"".join(bytes(p) for p in codec.encode(frame))

    def _sound(
        self, chunks: dict[str, Any], muted: frozenset[str], listeners: list[str], pts: int
    ) -> tuple[MixPlan, dict[str, bytes]]:
        plan = self._mixer.mix(chunks, muted)
        payloads: dict[str, bytes] = {}
        shared: bytes | None = None
        for pid in listeners:
            if pid in plan.own:
                payloads[pid] = self._encode_opus(pid, plan.own[pid], pts)
            else:
                if shared is None:
                    shared = self._encode_opus("shared", plan.shared, pts)
                payloads[pid] = shared
        # A speaker's own encoder goes when it stops speaking; it starts afresh next time.
        for key in [k for k in self._opus if k != "shared" and k not in plan.own]:
            del self._opus[key]
        # The whole meeting's sound (what a silent site hears) for the recording: G.711.
        narrow = [
            out.to_ndarray().reshape(-1)
            for out in self._narrow.resample(_pcm_frame(plan.shared, pts))
        ]
        if narrow:
            payloads[_RECORDING] = g711_encode(np.concatenate(narrow).astype(np.int16), "PCMU")
        return plan, payloads

    async def _audio_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = CHUNK / RATE
        deadline = loop.time()
        tick = 0
        while True:
            deadline += period
            participants = list(self.participants.values())
            if participants:
                chunks = {
                    p.id: p.audio_in.take() if p.audio_in is not None else None
                    for p in participants
                }
                muted = frozenset(p.id for p in participants if p.muted)
                listeners = [p.id for p in participants if p.audio_out is not None]
                try:
                    plan, payloads = await loop.run_in_executor(
                        self._audio_pool, self._sound, chunks, muted, listeners, tick * CHUNK
                    )
                except RuntimeError:
                    return
                self.audio_ticks += 1
                self._note_speaker(plan, loop.time())
                call = self.rollcall
                if (
                    call is not None
                    and call.answered_at is None
                    and call.participant in plan.speakers
                ):
                    self.answer_rollcall(call.participant, how="voice")
                recorded = payloads.pop(_RECORDING, b"")
                if recorded:
                    self.hub.publish(
                        MediaFrame(
                            "audio",
                            "PCMU",
                            8000,
                            self._narrow_ts,
                            False,
                            recorded,
                            time.monotonic(),
                        )
                    )
                    self._narrow_ts += len(recorded)
                for pid, payload in payloads.items():
                    p = self.participants.get(pid)
                    if p is not None and p.audio_out is not None:
                        p.audio_out.push(payload, tick * CHUNK)
                for p in participants:
                    if p.pcm_out is not None:
                        p.pcm_out.push(plan.for_participant(p.id), tick * CHUNK)
                tick += 1
            delay = deadline - loop.time()
            if delay < -0.1:
                deadline = loop.time()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))

    def _note_speaker(self, plan: MixPlan, now: float) -> None:
        """The outlined (and, in the speaker layout, large) site: the loudest speaker —
        kept while it goes on speaking unless another has been loudest for
        ``SPEAKER_HOLD`` seconds, and for a second after it stops (pictures must not
        flicker between two voices)."""
        for pid in plan.speakers:
            self._speaker_since[pid] = now
        loudest = plan.speakers[0] if plan.speakers else None
        if loudest != self._candidate:
            self._candidate, self._candidate_at = loudest, now
        current = self.speaker
        if current is not None and current not in self.participants:
            current = None
        if loudest is None:
            if current is not None and now - self._speaker_since.get(current, 0.0) > 1.0:
                current = None
        elif (
            current is None
            or (current not in plan.speakers and now - self._speaker_since.get(current, 0.0) > 1.0)
            or now - self._candidate_at >= SPEAKER_HOLD
        ):
            current = loudest
        if current != self.speaker:
            self.speaker = current
            if self.layout is Layout.SPEAKER:
                self.request_keyframe()

    # ------------------------------------------------------------------ watching
    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for p in list(self.participants.values()):
                if p.pc is None:
                    continue
                if now - p.last_heard > self.settings.vanish_after:
                    self._spawn_leave(
                        p.id, f"vanished: nothing heard for {self.settings.vanish_after:.0f} s"
                    )

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, object]:
        tiles = {t.participant: t for t in self.tiles()}
        return {
            "occurrence": self.occurrence_id,
            "layout": self.layout.value,
            "spotlight": self.spotlight,
            "focus": self.focus(),
            "tour": None
            if self.tour_interval is None
            else {"interval": self.tour_interval, "current": self.tour_current},
            "rollcall": None
            if self.rollcall is None
            else {
                "participant": self.rollcall.participant,
                "site": self.rollcall.site,
                "called_at": self.rollcall.called_at,
                "answered_at": self.rollcall.answered_at,
            },
            "locked": self.locked,
            "speaker": self.speaker,
            "width": self.settings.width,
            "height": self.settings.height,
            "participants": [
                {
                    "id": p.id,
                    "site": p.site,
                    "actor": p.actor,
                    "kind": p.kind,
                    "camera_id": p.camera_id,
                    "joined_at": p.joined_at,
                    "muted": p.muted,
                    "unmute_forbidden": p.unmute_forbidden,
                    "hand_raised": p.hand_raised,
                    "sends_video": p.video_in is not None,
                    "sends_audio": p.audio_in is not None,
                    "tile": None
                    if p.id not in tiles
                    else {
                        "x": tiles[p.id].x,
                        "y": tiles[p.id].y,
                        "width": tiles[p.id].width,
                        "height": tiles[p.id].height,
                    },
                }
                for p in self.participants.values()
            ],
            "stats": {
                "pictures": self.pictures,
                "keyframes": self._encoder.keyframes,
                "keyframe_requests": self._keyframes.requests,
                "keyframes_forced": self._keyframes.forced,
                "audio_ticks": self.audio_ticks,
                "opus_encodes": self.opus_encodes,
            },
        }
