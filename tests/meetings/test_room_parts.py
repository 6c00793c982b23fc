"""The room's parts on their own: layouts, the mix, the per-participant queue, the
keyframe policy, PLI/FIR on a real aiortc sender, the composite with Chinese names."""

from __future__ import annotations

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket
from av.video.frame import VideoFrame
from hypothesis import given
from hypothesis import strategies as st

from core import Principal, Role
from meetings import Layout, Participant, Room, RoomSettings, compute_layout
from meetings._compose import Composer, CompositeEncoder, EncodedFrame, TileContent, find_cjk_font
from meetings._mix import CHUNK, Mixer
from meetings._room import KeyframePolicy
from meetings._tracks import CompositeTrack, MixTrack, PacketQueue
from sessions import LiveSettings


@given(
    count=st.integers(1, 24),
    layout=st.sampled_from(list(Layout)),
    focus=st.integers(0, 30),
)
def test_tiles_lie_inside_the_picture_and_never_overlap(
    count: int, layout: Layout, focus: int
) -> None:
    ids = [f"p{i}" for i in range(count)]
    tiles = compute_layout(layout, ids, focus=f"p{focus}", width=1280, height=720)
    if layout is Layout.SINGLE or count == 1:
        assert len(tiles) == 1
        assert tiles[0].participant == (f"p{focus}" if focus < count else "p0")
    else:
        assert sorted(t.participant for t in tiles) == sorted(ids)
    for t in tiles:
        assert t.x >= 0 and t.y >= 0 and t.x + t.width <= 1280 and t.y + t.height <= 720
        assert t.width > 0 and t.height > 0 and t.x % 2 == 0 and t.y % 2 == 0
    for a in tiles:
        for b in tiles:
            if a is not b:
                assert (
                    a.x + a.width <= b.x
                    or b.x + b.width <= a.x
                    or a.y + a.height <= b.y
                    or b.y + b.height <= a.y
                )


def test_speaker_layout_puts_the_focus_large_on_top() -> None:
    tiles = compute_layout(Layout.SPEAKER, ["a", "b", "c"], focus="b", width=1280, height=720)
    big = max(tiles, key=lambda t: t.width * t.height)
    assert big.participant == "b" and big.y == 0
    assert all(t.y >= big.height for t in tiles if t is not big)


def tone(frequency: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(CHUNK) / 48_000
    return (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def test_mix_speakers_hear_the_others_silent_sites_share_one_mix() -> None:
    a, b = tone(500), tone(800)
    quiet = (np.random.default_rng(1).normal(0, 30, CHUNK)).astype(np.int16)  # room noise
    plan = Mixer().mix({"a": a, "b": b, "c": quiet, "d": None}, muted=set())
    assert set(plan.speakers) == {"a", "b"}
    assert np.array_equal(plan.for_participant("a"), b)  # a hears b only
    assert np.array_equal(plan.for_participant("b"), a)
    assert plan.for_participant("c") is plan.shared is plan.for_participant("d")
    assert np.array_equal(plan.shared, (a.astype(np.int32) + b).astype(np.int16))  # noise gated out


def test_a_muted_site_is_not_heard_and_the_loudest_are_kept() -> None:
    chunks = {f"s{i}": tone(300 + 100 * i, 0.05 + 0.05 * i) for i in range(6)}
    plan = Mixer(max_speakers=4).mix(chunks, muted={"s5"})
    assert plan.speakers == ("s4", "s3", "s2", "s1")
    assert "s5" not in plan.own and "s0" not in plan.own


def test_mix_clips_instead_of_wrapping() -> None:
    loud = np.full(CHUNK, 30000, dtype=np.int16)
    plan = Mixer().mix({"a": loud, "b": loud, "c": None}, muted=set())
    assert int(plan.shared.max()) == 32767


def frame(key: bool, n: int = 0) -> EncodedFrame:
    return EncodedFrame(bytes([n]), n, key)


async def test_a_slow_participant_drops_its_own_pictures_and_waits_for_a_keyframe() -> None:
    asked: list[int] = []
    queue = PacketQueue(3, lambda: asked.append(1))
    queue.push(frame(False, 1))  # a new receiver starts at a keyframe
    assert len(queue) == 0 and queue.skipped == 1
    for n, key in enumerate([True, False, False, False, False], start=2):
        queue.push(frame(key, n))
    # the fourth picture found the queue full: all three dropped, a keyframe asked for
    assert len(queue) == 0 and queue.dropped == 3 and asked == [1] and queue.need_keyframe
    queue.push(frame(False, 7))
    assert len(queue) == 0
    queue.push(frame(True, 8))
    assert (await queue.get()).pts == 8


async def test_tracks_hand_out_packets_and_end_when_stopped() -> None:
    queue = PacketQueue(4)
    track = CompositeTrack(queue)
    queue.push(frame(True, 90))
    packet = await track.recv()
    assert bytes(packet) == bytes([90]) and packet.pts == 90
    track.stop()
    from aiortc.mediastreams import MediaStreamError

    with pytest.raises(MediaStreamError):
        await track.recv()
    mix = MixTrack(maxlen=2)
    for n in range(3):
        mix.push(bytes([n]), n * 960)
    assert mix.dropped == 1 and (await mix.recv()).pts == 960


def test_keyframes_are_rate_limited_and_requests_merged() -> None:
    policy = KeyframePolicy(0.5)
    assert policy.due(10.0)  # the first picture
    assert not policy.due(10.1)
    policy.request()
    policy.request()
    assert not policy.due(10.2)  # too soon: kept for later
    assert policy.due(10.6)
    assert not policy.due(10.7)
    assert policy.requests == 2 and policy.forced == 2


async def test_pli_and_fir_on_a_packet_sender_ask_the_room_for_a_keyframe() -> None:
    async def no_events(*_: object) -> None:
        return None

    room = Room(
        "1-20261204",
        chair="hpx.chair",
        settings=RoomSettings(),
        live=LiveSettings(),
        on_event=no_events,
    )
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transceiver = pc.addTransceiver(CompositeTrack(PacketQueue(4)), direction="sendonly")
        who = Principal("user", 1, "hpx.chair", "431226203000", Role.CHAIR)
        participant = Participant("p", "和平溪乡", who, pc)
        participant.last_heard = 0.0
        room._hook_sender(transceiver.sender, participant)
        before = room.state()["stats"]["keyframe_requests"]  # type: ignore[index]
        for fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            await transceiver.sender._handle_rtcp_packet(
                RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=transceiver.sender._ssrc)
            )
        assert room.state()["stats"]["keyframe_requests"] == before + 2  # type: ignore[index]
        assert participant.last_heard > 0  # RTCP is a sign of life
    finally:
        await pc.close()
        await room.close("test over")


def test_composite_draws_chinese_names_and_outlines_the_speaker() -> None:
    assert find_cjk_font() is not None, "install fonts-noto-cjk (make deps)"
    composer = Composer(640, 360)
    tiles = compute_layout(Layout.GRID, ["a", "b"], focus=None, width=640, height=360)
    red = np.zeros((240, 320, 3), np.uint8)
    red[:] = (0, 0, 255)
    contents = {
        "a": TileContent(VideoFrame.from_ndarray(red, format="bgr24"), "和平溪村"),
        "b": TileContent(None, "派出所", ("静音",)),
    }
    frame = composer.compose(tiles, contents, speaker="a")
    assert frame.format.name == "yuv420p"  # composed straight into the encoder's planes
    picture = frame.to_ndarray(format="bgr24")
    a, b = tiles
    # a's name in its top-left corner: white glyph pixels on a darkened red band
    band = picture[a.y : a.y + a.height // 4, a.x : a.x + a.width // 2]
    assert (band.min(axis=2) > 200).sum() > 50
    # the bottom of the tile is untouched: the camera's own clock and time code stay legible
    bottom = picture[a.y + a.height * 3 // 4 : a.y + a.height - 8, a.x + 8 : a.x + a.width - 8]
    assert bool(np.all(np.abs(bottom.astype(int) - (0, 0, 255)) <= 6))
    # b's badge (静音) is drawn in orange after its name
    b_band = picture[b.y : b.y + b.height // 4, b.x : b.x + b.width]
    assert ((b_band[:, :, 2] > 200) & (b_band[:, :, 1] > 120) & (b_band[:, :, 0] < 60)).sum() > 20
    # the speaker's outline is on a's border and not on b's
    outline = np.array((0, 200, 255))
    assert np.abs(picture[a.y + 1, a.x + a.width // 2].astype(int) - outline).max() <= 40
    assert np.abs(picture[b.y + 1, b.x + b.width // 2].astype(int) - outline).max() > 40
    # one encoder for everyone: a keyframe on request
    encoder = CompositeEncoder(640, 360, fps=10)
    kinds = []
    for n in range(12):
        for out in encoder.encode(frame, n * 9000, keyframe=n in (0, 7)):
            kinds.append(out.keyframe)
            assert out.data.startswith(b"\x00\x00\x00\x01") or out.data.startswith(b"\x00\x00\x01")
    assert kinds[0] and kinds[7] and sum(kinds) == 2
