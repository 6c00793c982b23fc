"""onvif-zeep-async (a third-party ONVIF client that validates with zeep) registers a camera."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError
from onvif.util import is_auth_error

from simulator import SimulatedCamera


async def _registered(
    camera: SimulatedCamera, password: str | None = None, **kwargs: object
) -> ONVIFCamera:
    client = ONVIFCamera(
        camera.config.host,
        camera.http_port,
        camera.config.username,
        password if password is not None else camera.config.password,
        **kwargs,
    )
    await client.update_xaddrs()
    return client


def _profile_extension(profile: Any) -> tuple[Any, Any]:
    """Audio output and decoder configurations of a profile's Extension.

    zeep quirk: tt:ProfileExtension starts with <xs:any namespace="##other">, and zeep's
    xs:any swallows the (schema-valid) tt: elements that follow, so they land in
    ``_value_1`` instead of their named fields.  Clients must look in both places.
    """
    extension = profile.Extension
    if extension.AudioOutputConfiguration is not None:
        return extension.AudioOutputConfiguration, extension.AudioDecoderConfiguration
    output = next(v for v in extension._value_1 if hasattr(v, "OutputToken"))
    decoder = next(v for v in extension._value_1 if not hasattr(v, "OutputToken"))
    return output, decoder


async def test_onvif_client_reads_everything_registration_needs(camera: SimulatedCamera) -> None:
    client = await _registered(camera)
    try:
        assert client.xaddrs["http://www.onvif.org/ver10/media/wsdl"].endswith(
            "/onvif/media_service"
        )
        device = await client.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        assert info.SerialNumber == camera.config.serial
        assert info.Manufacturer == camera.config.manufacturer
        scopes = [s.ScopeItem for s in await device.GetScopes()]
        assert any(s.startswith("onvif://www.onvif.org/name/") for s in scopes)
        assert "onvif://www.onvif.org/Profile/Streaming" in scopes
        assert (await device.GetHostname()).Name.startswith("ipc-")
        interfaces = await device.GetNetworkInterfaces()
        assert interfaces[0].IPv4.Config.Manual[0].Address == "127.0.0.1"
        capabilities = await device.GetCapabilities({"Category": "All"})
        assert capabilities.Media.StreamingCapabilities.RTP_RTSP_TCP is True

        media = await client.create_media_service()
        service_caps = await media.GetServiceCapabilities()
        assert service_caps.SnapshotUri is True
        profiles = await media.GetProfiles()
        sizes = {
            p.token: (
                p.VideoEncoderConfiguration.Resolution.Width,
                p.VideoEncoderConfiguration.Resolution.Height,
            )
            for p in profiles
        }
        assert sizes == {"main": (1920, 1080), "sub": (640, 360)}
        main = profiles[0]
        assert main.VideoEncoderConfiguration.Encoding == "H264"
        assert main.AudioEncoderConfiguration.Encoding == "G711"
        output, decoder = _profile_extension(main)
        assert output.OutputToken == "AudioOutput_1"
        assert decoder.token == "AudioDecoderConfig_1"

        uri = await media.GetStreamUri(
            {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": "sub",
            }
        )
        assert uri.Uri == camera.rtsp_url("sub")
        snapshot = await media.GetSnapshotUri({"ProfileToken": "main"})
        assert snapshot.Uri == camera.snapshot_url("main")
        outputs = await media.GetAudioOutputs()
        assert [o.token for o in outputs] == ["AudioOutput_1"]
        output_configs = await media.GetAudioOutputConfigurations()
        assert output_configs[0].SendPrimacy == "www.onvif.org/ver20/HalfDuplex/Auto"
        decoders = await media.GetAudioDecoderConfigurations()
        assert [d.token for d in decoders] == ["AudioDecoderConfig_1"]
        options = await media.GetAudioDecoderConfigurationOptions({"ProfileToken": "main"})
        assert options.G711DecOptions.SampleRateRange.Items == [8]

        jpeg = await client.get_snapshot("main")
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
    finally:
        await client.close()


async def test_wrong_password_raises_not_authorized(camera: SimulatedCamera) -> None:
    client = ONVIFCamera(
        camera.config.host, camera.http_port, camera.config.username, "wrong-password"
    )
    try:
        with pytest.raises((zeep.exceptions.Fault, ONVIFError)) as caught:
            await client.update_xaddrs()
        assert is_auth_error(caught.value)
    finally:
        await client.close()


async def test_unknown_profile_is_a_sender_fault(camera: SimulatedCamera) -> None:
    client = await _registered(camera)
    try:
        media = await client.create_media_service()
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await media.GetStreamUri(
                {
                    "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                    "ProfileToken": "nope",
                }
            )
        assert "nope" in str(caught.value.message)
    finally:
        await client.close()


async def test_refuse_auth_knob_rejects_the_right_password(camera: SimulatedCamera) -> None:
    camera.apply_faults({"refuse_auth": True})
    client = ONVIFCamera(
        camera.config.host, camera.http_port, camera.config.username, camera.config.password
    )
    try:
        with pytest.raises((zeep.exceptions.Fault, ONVIFError)) as caught:
            await client.update_xaddrs()
        assert is_auth_error(caught.value)
    finally:
        await client.close()


async def test_clock_skew_breaks_digest_auth_unless_the_client_measures_it(
    camera: SimulatedCamera,
) -> None:
    camera.apply_faults({"clock_skew": 3600.0})
    naive = ONVIFCamera(
        camera.config.host, camera.http_port, camera.config.username, camera.config.password
    )
    try:
        with pytest.raises((zeep.exceptions.Fault, ONVIFError)):
            await naive.update_xaddrs()
    finally:
        await naive.close()

    client = await _registered(camera, adjust_time=True)
    try:
        device = await client.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        assert info.SerialNumber == camera.config.serial
        assert client.dt_diff is not None
        assert abs(client.dt_diff - dt.timedelta(hours=1)) < dt.timedelta(seconds=5)
    finally:
        await client.close()


async def test_system_date_and_time_needs_no_credentials(camera: SimulatedCamera) -> None:
    camera.apply_faults({"clock_skew": -120.0})
    client = ONVIFCamera(camera.config.host, camera.http_port, camera.config.username, "wrong")
    try:
        device = await client.create_devicemgmt_service()
        answer = await device.authless_GetSystemDateAndTime()
        assert (await device.GetSystemDateAndTime()).TimeZone.TZ == "CST-8"  # bad token ignored
        utc = answer.UTCDateTime
        camera_time = dt.datetime(
            utc.Date.Year,
            utc.Date.Month,
            utc.Date.Day,
            utc.Time.Hour,
            utc.Time.Minute,
            utc.Time.Second,
            tzinfo=dt.UTC,
        )
        offset = (camera_time - dt.datetime.now(dt.UTC)).total_seconds()
        assert -125 < offset < -115
        assert answer.TimeZone.TZ == "CST-8"
    finally:
        await client.close()
