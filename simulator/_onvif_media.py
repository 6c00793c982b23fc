"""Replies of the ONVIF Media service (ver10, trt) for one simulated camera.

Pure code.  Two profiles, ``main`` and ``sub``, share the video source, the microphone
(G.711 encoder) and the speaker (audio output + decoder used by the backchannel).
"""

from __future__ import annotations

from collections.abc import Callable

from ._config import StreamProfile
from ._onvif_device import DeviceView, _media_service_capabilities
from ._soap import SoapFault, SoapRequest, text

__all__ = ["media_reply"]

_MULTICAST_OFF = (
    "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
    "</tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
    "</tt:Multicast>"
)
_HALF_DUPLEX_AUTO = "www.onvif.org/ver20/HalfDuplex/Auto"


def _video_source_configuration(view: DeviceView) -> str:
    main = view.config.main
    return (
        '<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig_1'
        "</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{main.width}" height="{main.height}"/>'
        "</tt:VideoSourceConfiguration>"
    )


def _audio_source_configuration() -> str:
    return (
        '<tt:AudioSourceConfiguration token="AudioSourceConfig_1"><tt:Name>Microphone</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:SourceToken>AudioSource_1</tt:SourceToken>"
        "</tt:AudioSourceConfiguration>"
    )


def _video_encoder_configuration(
    stream: StreamProfile, tag: str = "VideoEncoderConfiguration"
) -> str:
    return (
        f'<tt:{tag} token="VideoEncoder_{stream.token}"><tt:Name>{stream.token}</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{stream.width}</tt:Width><tt:Height>{stream.height}"
        "</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality>"
        f"<tt:RateControl><tt:FrameRateLimit>{stream.fps}</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval>"
        f"<tt:BitrateLimit>{stream.bitrate // 1000}</tt:BitrateLimit></tt:RateControl>"
        f"<tt:H264><tt:GovLength>{stream.gop}</tt:GovLength>"
        "<tt:H264Profile>Baseline</tt:H264Profile></tt:H264>"
        f"{_MULTICAST_OFF}<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:{tag}>"
    )


def _audio_encoder_configuration() -> str:
    return (
        '<tt:AudioEncoderConfiguration token="AudioEncoder_1"><tt:Name>G711</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:Encoding>G711</tt:Encoding><tt:Bitrate>64</tt:Bitrate>"
        f"<tt:SampleRate>8</tt:SampleRate>{_MULTICAST_OFF}"
        "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:AudioEncoderConfiguration>"
    )


def _audio_output_configuration(tag: str = "tt:AudioOutputConfiguration") -> str:
    return (
        f'<{tag} token="AudioOutputConfig_1"><tt:Name>Speaker</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:OutputToken>AudioOutput_1</tt:OutputToken>"
        f"<tt:SendPrimacy>{_HALF_DUPLEX_AUTO}</tt:SendPrimacy>"
        f"<tt:OutputLevel>80</tt:OutputLevel></{tag}>"
    )


def _audio_decoder_configuration(tag: str = "tt:AudioDecoderConfiguration") -> str:
    return (
        f'<{tag} token="AudioDecoderConfig_1"><tt:Name>G711 decoder</tt:Name>'
        f"<tt:UseCount>2</tt:UseCount></{tag}>"
    )


def _profile(view: DeviceView, stream: StreamProfile) -> str:
    label = "MainStream" if stream.token == "main" else "SubStream"
    return (
        f'<trt:Profiles token="{stream.token}" fixed="true"><tt:Name>{label}</tt:Name>'
        f"{_video_source_configuration(view)}{_audio_source_configuration()}"
        f"{_video_encoder_configuration(stream)}{_audio_encoder_configuration()}"
        f"<tt:Extension>{_audio_output_configuration()}{_audio_decoder_configuration()}"
        "</tt:Extension></trt:Profiles>"
    )


def _stream_for(view: DeviceView, request: SoapRequest) -> StreamProfile:
    token = request.find_text("ProfileToken") or ""
    stream = view.config.stream(token)
    if stream is None:
        raise SoapFault.invalid_arg("ter:NoProfile", f"no media profile with token {token!r}")
    return stream


def _media_uri(uri: str) -> str:
    return (
        f"<trt:MediaUri><tt:Uri>{text(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
    )


def _get_profiles(view: DeviceView, request: SoapRequest) -> str:
    profiles = "".join(_profile(view, stream) for stream in view.config.streams)
    return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"


def _get_profile(view: DeviceView, request: SoapRequest) -> str:
    profile = _profile(view, _stream_for(view, request)).replace("trt:Profiles", "trt:Profile")
    return f"<trt:GetProfileResponse>{profile}</trt:GetProfileResponse>"


def _get_stream_uri(view: DeviceView, request: SoapRequest) -> str:
    stream = _stream_for(view, request)
    protocol = request.find_text("Protocol") or "RTSP"
    if protocol not in ("RTSP", "TCP"):
        raise SoapFault.invalid_arg(
            "ter:InvalidStreamSetup", f"transport {protocol} is not offered; use RTSP"
        )
    return f"<trt:GetStreamUriResponse>{_media_uri(view.rtsp_urls[stream.token])}</trt:GetStreamUriResponse>"


def _get_snapshot_uri(view: DeviceView, request: SoapRequest) -> str:
    stream = _stream_for(view, request)
    uri = _media_uri(view.snapshot_urls[stream.token])
    return f"<trt:GetSnapshotUriResponse>{uri}</trt:GetSnapshotUriResponse>"


def _get_service_capabilities(view: DeviceView, request: SoapRequest) -> str:
    return (
        "<trt:GetServiceCapabilitiesResponse>"
        f"{_media_service_capabilities()}</trt:GetServiceCapabilitiesResponse>"
    )


def _get_video_encoder_configurations(view: DeviceView, request: SoapRequest) -> str:
    items = "".join(
        _video_encoder_configuration(s).replace(
            "tt:VideoEncoderConfiguration", "trt:Configurations"
        )
        for s in view.config.streams
    )
    return f"<trt:GetVideoEncoderConfigurationsResponse>{items}</trt:GetVideoEncoderConfigurationsResponse>"


def _get_audio_outputs(view: DeviceView, request: SoapRequest) -> str:
    return (
        '<trt:GetAudioOutputsResponse><trt:AudioOutputs token="AudioOutput_1"/>'
        "</trt:GetAudioOutputsResponse>"
    )


def _get_audio_output_configurations(view: DeviceView, request: SoapRequest) -> str:
    return (
        "<trt:GetAudioOutputConfigurationsResponse>"
        f"{_audio_output_configuration('trt:Configurations')}"
        "</trt:GetAudioOutputConfigurationsResponse>"
    )


def _get_audio_decoder_configurations(view: DeviceView, request: SoapRequest) -> str:
    return (
        "<trt:GetAudioDecoderConfigurationsResponse>"
        f"{_audio_decoder_configuration('trt:Configurations')}"
        "</trt:GetAudioDecoderConfigurationsResponse>"
    )


def _get_audio_decoder_configuration_options(view: DeviceView, request: SoapRequest) -> str:
    # The decoder configuration itself names no codec; its options list what the speaker
    # accepts — G.711 at 64 kbit/s, 8 kHz — which is what the backchannel SDP offers.
    return (
        "<trt:GetAudioDecoderConfigurationOptionsResponse><trt:Options>"
        "<tt:G711DecOptions><tt:Bitrate><tt:Items>64</tt:Items></tt:Bitrate>"
        "<tt:SampleRateRange><tt:Items>8</tt:Items></tt:SampleRateRange></tt:G711DecOptions>"
        "</trt:Options></trt:GetAudioDecoderConfigurationOptionsResponse>"
    )


_OPERATIONS: dict[str, Callable[[DeviceView, SoapRequest], str]] = {
    "GetServiceCapabilities": _get_service_capabilities,
    "GetProfiles": _get_profiles,
    "GetProfile": _get_profile,
    "GetStreamUri": _get_stream_uri,
    "GetSnapshotUri": _get_snapshot_uri,
    "GetVideoEncoderConfigurations": _get_video_encoder_configurations,
    "GetAudioOutputs": _get_audio_outputs,
    "GetAudioOutputConfigurations": _get_audio_output_configurations,
    "GetAudioDecoderConfigurations": _get_audio_decoder_configurations,
    "GetAudioDecoderConfigurationOptions": _get_audio_decoder_configuration_options,
}


def media_reply(view: DeviceView, request: SoapRequest) -> str:
    handler = _OPERATIONS.get(request.operation)
    if handler is None:
        raise SoapFault.action_not_supported(request.operation)
    return handler(view, request)
