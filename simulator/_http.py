"""The camera's HTTP side: ONVIF SOAP services, the snapshot JPEG and the test controls.

``/onvif/device_service`` and ``/onvif/media_service`` speak SOAP 1.2 with WS-UsernameToken;
``/onvif/snapshot`` serves a JPEG behind HTTP Digest; ``/sim/faults`` and
``/sim/backchannel`` let tests in another process drive and inspect the camera.  The
control endpoints are unauthenticated: the simulator listens on loopback for tests.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from aiohttp import web

from ._auth import Credentials, DigestChallenge, check_authorization, verify_username_token
from ._backchannel import BackchannelSink
from ._config import CameraConfig, FaultState
from ._onvif_device import DeviceView, device_reply
from ._onvif_media import media_reply
from ._soap import NS, SoapFault, envelope, fault_envelope, parse_soap_request

__all__ = ["CameraHttpHost", "build_http_app"]

logger = logging.getLogger(__name__)

_SOAP_CONTENT_TYPE = "application/soap+xml"
# ONVIF access class PRE_AUTH: a client needs the clock before it can sign anything.
_PRE_AUTH = frozenset({"GetSystemDateAndTime"})


class CameraHttpHost(Protocol):
    """What the HTTP handlers need from their camera."""

    config: CameraConfig
    faults: FaultState
    sink: BackchannelSink
    credentials: Credentials
    http_challenge: DigestChallenge

    def device_view(self) -> DeviceView: ...

    def camera_now(self) -> datetime: ...

    def snapshot_jpeg(self, token: str) -> Awaitable[bytes]: ...

    def apply_faults(self, changes: dict[str, object]) -> dict[str, object]: ...


def _soap_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=_SOAP_CONTENT_TYPE, charset="utf-8")


def _soap_handler(
    host: CameraHttpHost, namespace: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        data = await request.read()
        try:
            soap = parse_soap_request(data)
            if soap.operation not in _PRE_AUTH and not verify_username_token(
                soap.token,
                host.credentials,
                host.camera_now(),
                host.config.max_clock_difference,
                refuse_all=host.faults.refuse_auth,
            ):
                raise SoapFault.not_authorized()
            view = host.device_view()
            if soap.namespace == NS["tds"] and namespace == NS["tds"]:
                body = device_reply(view, soap, host.camera_now())
            elif soap.namespace == NS["trt"] and namespace == NS["trt"]:
                body = media_reply(view, soap)
            else:
                raise SoapFault.action_not_supported(f"{{{soap.namespace}}}{soap.operation}")
        except SoapFault as fault:
            logger.debug("ONVIF fault for %s: %s", request.path, fault.reason)
            return _soap_response(fault_envelope(fault), fault.status)
        return _soap_response(envelope(body))

    return handle


def _snapshot_handler(host: CameraHttpHost) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        now = time.time()
        if not check_authorization(
            request.headers.get("Authorization"),
            request.method,
            host.http_challenge,
            host.credentials,
            now,
            refuse_all=host.faults.refuse_auth,
        ):
            response = web.Response(status=401, text="401 Unauthorized")
            for challenge in host.http_challenge.www_authenticate(now):
                response.headers.add("WWW-Authenticate", challenge)
            return response
        token = request.query.get("profile", "main")
        if host.config.stream(token) is None:
            raise web.HTTPNotFound(text=f"no media profile {token!r}; use main or sub")
        return web.Response(body=await host.snapshot_jpeg(token), content_type="image/jpeg")

    return handle


def _faults_handler(host: CameraHttpHost) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(host.faults.as_dict())
        try:
            changes = await request.json()
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(text=f"fault body is not JSON: {exc}") from exc
        if not isinstance(changes, dict):
            raise web.HTTPBadRequest(text="fault body must be a JSON object")
        try:
            return web.json_response(host.apply_faults(changes))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc

    return handle


def _backchannel_handler(host: CameraHttpHost) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            host.sink.clear()
        return web.json_response(host.sink.summary())

    return handle


def build_http_app(host: CameraHttpHost) -> web.Application:
    app = web.Application()
    app.router.add_post("/onvif/device_service", _soap_handler(host, NS["tds"]))
    app.router.add_post("/onvif/media_service", _soap_handler(host, NS["trt"]))
    app.router.add_get("/onvif/snapshot", _snapshot_handler(host))
    faults = _faults_handler(host)
    app.router.add_get("/sim/faults", faults)
    app.router.add_post("/sim/faults", faults)
    backchannel = _backchannel_handler(host)
    app.router.add_get("/sim/backchannel", backchannel)
    app.router.add_delete("/sim/backchannel", backchannel)
    return app
