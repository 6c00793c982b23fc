"""AAC over RTP (RFC 3640 ``mpeg4-generic``, AAC-hbr/AAC-lbr): depacketizing.  Pure core.

AAC payloads start with an AU-headers section (``sizeLength``/``indexLength``/
``indexDeltaLength`` bits per header, from the fmtp); an AU larger than one packet is
fragmented over packets that share a timestamp, the last one with the marker bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from media._errors import AudioFormatError

__all__ = ["AacDepacketizer"]

# on_frame(au, rtp_timestamp)
AacSink = Callable[[bytes, int], None]


class AacDepacketizer:
    """RFC 3640 depacketizer for ``mpeg4-generic`` AAC (AAC-hbr / AAC-lbr).

    ``fmtp`` is the track's fmtp (``sizelength``, ``indexlength``,
    ``indexdeltalength``, ``constantduration``); AUs go to ``on_frame`` with their own
    timestamp (the packet's plus the frame duration per AU, 1024 samples by default).
    Malformed payloads raise :class:`AudioFormatError`; a lost fragment drops its AU.
    """

    __slots__ = (
        "_duration",
        "_frag",
        "_frag_size",
        "_frag_ts",
        "_index_delta_length",
        "_index_length",
        "_next_seq",
        "_sink",
        "_size_length",
        "dropped",
    )

    def __init__(self, on_frame: AacSink, fmtp: Mapping[str, str]) -> None:
        def number(key: str, default: int) -> int:
            value = fmtp.get(key, "").strip()
            return int(value) if value.isdigit() else default

        self._sink = on_frame
        self._size_length = number("sizelength", 13)
        self._index_length = number("indexlength", 3)
        self._index_delta_length = number("indexdeltalength", 3)
        self._duration = number("constantduration", 1024)
        if not 1 <= self._size_length <= 16:
            raise AudioFormatError(f"AAC sizeLength {self._size_length} is outside 1..16")
        self._frag: list[memoryview] = []
        self._frag_size = 0
        self._frag_ts = -1
        self._next_seq: int | None = None
        self.dropped = 0

    def push(self, payload: memoryview, timestamp: int, marker: bool, sequence: int) -> None:
        if self._next_seq is not None and sequence != self._next_seq and self._frag:
            self._frag = []
            self.dropped += 1
        self._next_seq = (sequence + 1) & 0xFFFF
        if len(payload) < 2:
            raise AudioFormatError("AAC RTP payload has no AU-headers-length")
        header_bits = (payload[0] << 8) | payload[1]
        header_bytes = (header_bits + 7) // 8
        if 2 + header_bytes > len(payload):
            raise AudioFormatError(
                f"AAC AU-headers of {header_bits} bits do not fit a {len(payload)}-byte payload"
            )
        sizes = self._au_sizes(payload[2 : 2 + header_bytes], header_bits)
        data = payload[2 + header_bytes :]
        if self._frag and timestamp != self._frag_ts:
            self._frag = []  # the rest of a fragmented AU never came
            self.dropped += 1
        if len(sizes) == 1 and (sizes[0] > len(data) or self._frag):
            # fragment of one large AU: collect until the marker bit
            if not self._frag:
                if timestamp == self._frag_ts:
                    return  # the tail of an AU whose earlier fragment was lost
                self._frag_size = sizes[0]
                self._frag_ts = timestamp
            self._frag.append(data)
            if marker:
                au = b"".join(self._frag)
                self._frag = []
                self._frag_ts = -1
                if len(au) == self._frag_size:
                    self._sink(au, timestamp)
                else:
                    self.dropped += 1
            return
        pos = 0
        for i, size in enumerate(sizes):
            if pos + size > len(data):
                raise AudioFormatError(
                    f"AAC AU of {size} bytes runs past the end of the RTP payload"
                )
            self._sink(bytes(data[pos : pos + size]), timestamp + i * self._duration)
            pos += size

    def _au_sizes(self, headers: memoryview, header_bits: int) -> list[int]:
        value = int.from_bytes(headers, "big")
        total = len(headers) * 8
        sizes: list[int] = []
        bit = 0
        index_bits = self._index_length
        while bit + self._size_length + index_bits <= header_bits:
            shift = total - (bit + self._size_length)
            sizes.append((value >> shift) & ((1 << self._size_length) - 1))
            bit += self._size_length + index_bits
            index_bits = self._index_delta_length
        if not sizes:
            raise AudioFormatError(f"AAC AU-headers of {header_bits} bits hold no AU header")
        return sizes
