"""What H.264 and H.265 depacketizing share: turning NAL units into access units.

Pure core, hot path.  A codec's depacketizer parses its RTP payload format (RFC 6184,
RFC 7798) and hands NAL units here; this class keeps the rules both codecs follow:

- an access unit ends at the RTP marker bit, or when the timestamp changes (cameras
  that forget the marker);
- a sequence gap breaks the access unit in progress: it is dropped, and so is
  everything until the next keyframe, because pictures that reference a lost one only
  smear the picture for every viewer;
- parameter sets (in band, else from the SDP) are inserted before every keyframe that
  lacks them: browsers and a recorder that starts mid-stream need them there;
- an access unit is bounded (``max_bytes``): a camera that never ends one (one
  timestamp, no marker) loses it, counted in ``oversized``, instead of growing memory.

Payload pieces are collected as ``memoryview`` slices and joined once per access unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["START_CODE", "AccessUnitSink", "NalAssembler", "split_annexb"]

START_CODE = b"\x00\x00\x00\x01"
#: A 4K IDR from a camera stays well under this; only a broken or hostile stream reaches it.
MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024

# on_access_unit(annexb, keyframe, rtp_timestamp)
AccessUnitSink = Callable[[bytes, bool, int], None]


class NalAssembler:
    """Access-unit assembly over NAL units; subclasses parse their payload format.

    Subclasses set the class attributes and call :meth:`_begin` once per packet,
    then :meth:`_add_nal`/:meth:`_fragment_start`/:meth:`_fragment_part` and
    :meth:`_finish` (on the marker).  Counters: ``gaps`` (sequence gaps seen),
    ``dropped`` (access units discarded as broken or undecodable), ``oversized``
    (access units over ``max_bytes``).
    """

    #: NAL types of the parameter sets, in the order they go before a keyframe.
    PARAMETER_TYPES: tuple[int, ...] = ()
    #: NAL types after which parameter sets must not be inserted (access unit delimiter).
    DELIMITER_TYPE = -1
    #: header length in bytes (1 for H.264, 2 for H.265)
    HEADER_BYTES = 1

    __slots__ = (
        "_broken",
        "_has_key",
        "_in_fu",
        "_insert_at",
        "_max_bytes",
        "_next_seq",
        "_params",
        "_parts",
        "_seen",
        "_sink",
        "_size",
        "_ts",
        "_wait_key",
        "dropped",
        "gaps",
        "oversized",
    )

    def __init__(
        self,
        on_access_unit: AccessUnitSink,
        parameter_sets: Iterable[bytes] = (),
        *,
        max_bytes: int = MAX_ACCESS_UNIT_BYTES,
    ) -> None:
        self._sink = on_access_unit
        self._max_bytes = max_bytes
        self._params: dict[int, bytes] = {}
        for nal in parameter_sets:
            if len(nal) >= self.HEADER_BYTES:
                self._remember(self._type(nal), nal)
        self._parts: list[bytes | memoryview] = []
        self._size = 0
        self._ts: int | None = None
        self._next_seq: int | None = None
        self._broken = False
        self._wait_key = True  # a stream is only decodable from a keyframe on
        self._in_fu = False
        self._has_key = False
        self._seen = 0  # bit i set: PARAMETER_TYPES[i] is in this access unit
        self._insert_at = -1
        self.gaps = 0
        self.dropped = 0
        self.oversized = 0

    # ------------------------------------------------------------ codec hooks
    @staticmethod
    def _type(nal: bytes | memoryview) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def _is_key(nal_type: int) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    # ----------------------------------------------------------------- state
    @property
    def parameter_sets(self) -> tuple[bytes | None, ...]:
        """The latest parameter sets known (in band or from the SDP), in PARAMETER_TYPES order."""
        return tuple(self._params.get(t) for t in self.PARAMETER_TYPES)

    def reset(self) -> None:
        """Forget the stream position (new SSRC, reconnect): wait for the next keyframe."""
        self._clear()
        self._next_seq = None
        self._wait_key = True

    def _remember(self, nal_type: int, nal: bytes | memoryview) -> None:
        if nal_type in self.PARAMETER_TYPES:
            self._params[nal_type] = bytes(nal)

    def _clear(self) -> None:
        self._parts = []
        self._size = 0
        self._ts = None
        self._broken = False
        self._in_fu = False
        self._has_key = False
        self._seen = 0
        self._insert_at = -1

    # -------------------------------------------------------------- assembly
    def _begin(self, timestamp: int, sequence: int) -> None:
        """Book-keeping for one packet before its payload is parsed."""
        gap = self._next_seq is not None and sequence != self._next_seq
        self._next_seq = (sequence + 1) & 0xFFFF
        if self._ts is not None and timestamp != self._ts:
            if gap:
                self._broken = True  # the lost packets may have been this AU's tail
            self._finish()
        if gap:
            self.gaps += 1
            self._broken = True
            self._wait_key = True
            self._in_fu = False
        self._ts = timestamp

    def _note(self, nal_type: int) -> None:
        if self._is_key(nal_type):
            self._has_key = True
        elif nal_type in self.PARAMETER_TYPES:
            self._seen |= 1 << self.PARAMETER_TYPES.index(nal_type)
        if self._insert_at < 0 and nal_type != self.DELIMITER_TYPE:
            # parameter sets go after an access unit delimiter, before everything else
            self._insert_at = len(self._parts)

    def _append(self, piece: bytes | memoryview) -> None:
        before = self._size
        self._size = before + len(piece)
        if self._size > self._max_bytes:
            if before <= self._max_bytes:
                self.oversized += 1  # once per access unit, when it crosses the bound
            self._broken = True
            self._wait_key = True
            self._parts = []  # keep nothing of it: it is lost either way
            return
        self._parts.append(piece)

    def _add_nal(self, nal: memoryview) -> None:
        if self._in_fu:
            self._broken = True  # a fragmented unit never got its end fragment
            self._in_fu = False
        nal_type = self._type(nal)
        self._note(nal_type)
        if nal_type in self.PARAMETER_TYPES:
            self._remember(nal_type, nal)
        self._append(START_CODE)
        self._append(nal)

    def _fragment_start(self, header: bytes, nal_type: int, data: memoryview) -> None:
        if self._in_fu:
            self._broken = True
        self._in_fu = True
        self._note(nal_type)
        self._append(START_CODE)
        self._append(header)
        self._append(data)

    def _fragment_part(self, data: memoryview, end: bool) -> None:
        if not self._in_fu:
            self._broken = True  # continuation without a start: its start was lost
            return
        self._append(data)
        if end:
            self._in_fu = False

    def _finish(self) -> None:
        parts = self._parts
        ts = self._ts
        if not parts or ts is None:
            self._clear()
            return
        if self._broken or self._in_fu:
            self.dropped += 1
            self._clear()
            return
        keyframe = self._has_key
        if keyframe:
            wanted = (1 << len(self.PARAMETER_TYPES)) - 1
            if self._seen != wanted:
                missing = [t for t in self.PARAMETER_TYPES if t not in self._params]
                if missing:
                    # a keyframe nobody can decode: keep waiting for parameter sets
                    self.dropped += 1
                    self._clear()
                    return
                at = max(self._insert_at, 0)
                inserted: list[bytes | memoryview] = []
                for t in self.PARAMETER_TYPES:
                    inserted += (START_CODE, self._params[t])
                parts[at:at] = inserted
            self._wait_key = False
        elif self._wait_key:
            self.dropped += 1
            self._clear()
            return
        data = b"".join(parts)
        self._clear()
        self._sink(data, keyframe, ts)


def split_annexb(data: bytes | memoryview) -> list[bytes]:
    """Split an Annex-B byte string into NAL units (3- or 4-byte start codes)."""
    data = bytes(data)
    units: list[bytes] = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        start = pos + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        unit = data[start:end]
        if nxt >= 0:
            unit = unit.rstrip(b"\x00")  # the leading zero(s) of the next start code
        if unit:
            units.append(unit)
        pos = nxt
    return units
