"""The media toolkit: every wire format the gateway speaks, as pure code.

No asyncio, no sockets, no database, nothing of the product: parsers, serialisers,
packetizers and depacketizers that the camera ingest, the recorder, live view, the
GB/T 28181 uplink and the meetings share.  One module per format; each parser raises
only its format's error (a :class:`MediaFormatError`, which is a ``ValueError``).
"""

from ._aac import AacDepacketizer
from ._digest import Challenge, DigestAuthenticator, parse_www_authenticate
from ._errors import (
    AudioFormatError,
    DigestError,
    H264Error,
    H265Error,
    ManscdpError,
    MediaFormatError,
    PsError,
    RtcpError,
    RtpError,
    RtspFormatError,
    SdpError,
    SipFormatError,
)
from ._frame import MediaFrame
from ._g711 import (
    G711Packetizer,
    alaw_decode,
    alaw_encode,
    g711_decode,
    g711_encode,
    ulaw_decode,
    ulaw_encode,
)
from ._h264 import NAL_IDR, NAL_PPS, NAL_SPS, H264Depacketizer, H264Packetizer, Sps, parse_sps
from ._h265 import H265Depacketizer, H265Packetizer
from ._nal import START_CODE, split_annexb
from ._ps import PS_STREAM_TYPES, PsMuxer
from ._ps_demux import PsDemuxer, PsFrame
from ._ps_rtp import PsPacketizer, Rfc4571Decoder, encode_rfc4571
from ._rtcp import (
    Bye,
    ReceiverReport,
    ReceptionStats,
    ReportBlock,
    SenderReport,
    SourceDescription,
    encode_rtcp,
    ntp_timestamp,
    parse_rtcp,
)
from ._rtp import (
    RtpPacket,
    TimestampUnwrapper,
    build_rtp,
    parse_rtp,
    sequence_delta,
    timestamp_delta,
)
from ._rtsp import (
    RtspMessage,
    RtspRequest,
    RtspResponse,
    RtspStreamDecoder,
    encode_interleaved,
    encode_request,
    encode_response,
)
from ._sdp import (
    SdpLine,
    SdpMedia,
    SessionDescription,
    TrackInfo,
    parse_sdp,
    resolve_control,
    rtsp_controls,
)

__all__ = [
    "NAL_IDR",
    "NAL_PPS",
    "NAL_SPS",
    "PS_STREAM_TYPES",
    "START_CODE",
    "AacDepacketizer",
    "AudioFormatError",
    "Bye",
    "Challenge",
    "DigestAuthenticator",
    "DigestError",
    "G711Packetizer",
    "H264Depacketizer",
    "H264Error",
    "H264Packetizer",
    "H265Depacketizer",
    "H265Error",
    "H265Packetizer",
    "ManscdpError",
    "MediaFormatError",
    "MediaFrame",
    "PsDemuxer",
    "PsError",
    "PsFrame",
    "PsMuxer",
    "PsPacketizer",
    "ReceiverReport",
    "ReceptionStats",
    "ReportBlock",
    "Rfc4571Decoder",
    "RtcpError",
    "RtpError",
    "RtpPacket",
    "RtspFormatError",
    "RtspMessage",
    "RtspRequest",
    "RtspResponse",
    "RtspStreamDecoder",
    "SdpError",
    "SdpLine",
    "SdpMedia",
    "SenderReport",
    "SessionDescription",
    "SipFormatError",
    "SourceDescription",
    "Sps",
    "TimestampUnwrapper",
    "TrackInfo",
    "alaw_decode",
    "alaw_encode",
    "build_rtp",
    "encode_interleaved",
    "encode_request",
    "encode_response",
    "encode_rfc4571",
    "encode_rtcp",
    "g711_decode",
    "g711_encode",
    "ntp_timestamp",
    "parse_rtcp",
    "parse_rtp",
    "parse_sdp",
    "parse_sps",
    "parse_www_authenticate",
    "resolve_control",
    "rtsp_controls",
    "sequence_delta",
    "split_annexb",
    "timestamp_delta",
    "ulaw_decode",
    "ulaw_encode",
]
