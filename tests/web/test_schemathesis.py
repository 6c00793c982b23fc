"""Schemathesis over ``/api/openapi.json`` against the real gateway, for every role.

The gateway runs as ``python -m gateway serve --demo`` (a subprocess on loopback, SQLite,
its own data directory).  Schemathesis generates requests from the OpenAPI document —
valid and invalid bodies, path and query values — and sends them as each role: anonymous,
a county administrator, a township operator, a village mediator and a machine token.
Every answer must not be a 5xx, must have a documented status and content type, and must
match the documented schema.

Left out: sign-in and sign-out (they would end the role's own session), and the
operations that reach out to the network from what the body says (register or discover a
camera, add an upper platform): a generated host name would be looked up and connected to.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway._demo import DEMO_PASSWORD

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("anonymous", "county.admin", "hpx.watch", "hpxc.mediator", "token")
EXCLUDED = [
    ("POST", "/api/session"),
    ("DELETE", "/api/session"),
    ("POST", "/api/cameras"),
    ("POST", "/api/cameras/discover"),
    ("PATCH", "/api/cameras/{id}"),  # may carry a new stream URL to connect to
    ("POST", "/api/uplink/platforms"),
    ("PATCH", "/api/uplink/platforms/{id}"),
    ("POST", "/api/me/password"),  # a right old password is never generated, but be sure
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data = tmp_path_factory.mktemp("schemathesis")
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(data),
        "GATEWAY_HTTP_PORT": str(port),
        "GATEWAY_DATABASE_URL": "",
    }
    log = (data / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--demo"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (data / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the gateway did not start within 120 s"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def sessions(gateway_url: str) -> dict[str, tuple[requests.Session, dict[str, str]]]:
    """A signed-in HTTP session and the headers it sends, per role."""
    out: dict[str, tuple[requests.Session, dict[str, str]]] = {}
    admin = requests.Session()
    for role in ROLES:
        http = requests.Session()
        headers: dict[str, str] = {}
        if role == "token":
            if not admin.cookies:
                answer = admin.post(
                    f"{gateway_url}/api/session",
                    json={"username": "hpx.admin", "password": DEMO_PASSWORD},
                    timeout=30,
                )
                admin.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
            made = admin.post(
                f"{gateway_url}/api/tokens",
                json={"name": "schemathesis", "unit": "431226203000", "role": "operator"},
                timeout=30,
            )
            assert made.status_code == 201, made.text
            headers["Authorization"] = f"Bearer {made.json()['token']}"
        elif role != "anonymous":
            answer = http.post(
                f"{gateway_url}/api/session",
                json={"username": role, "password": DEMO_PASSWORD},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        out[role] = (http, headers)
    return out


def _openapi_document() -> dict[str, Any]:
    """The document ``/api/openapi.json`` serves, built in-process for collection (the
    test then checks that the running gateway serves the same)."""
    from core import Settings, StorageSettings
    from gateway import create_app
    from web._api import openapi_document
    from web._system import OPERATIONS

    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(storage=StorageSettings(data_dir=Path(data))))
        return openapi_document(app[OPERATIONS], "test")


@schemathesis.serializer("application/sdp")
def _sdp(ctx: Any, value: Any) -> bytes:
    """WHEP and talk offers are SDP text; whatever string was generated goes as UTF-8."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else str(value).encode()


DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
for _method, _path in EXCLUDED:
    schema = schema.exclude(method=_method, path=_path)


def test_the_gateway_serves_this_document(gateway_url: str) -> None:
    served = requests.get(f"{gateway_url}/api/openapi.json", timeout=30).json()
    assert served["paths"] == DOCUMENT["paths"]


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_route_and_role(
    case: schemathesis.Case,
    gateway_url: str,
    sessions: dict[str, tuple[requests.Session, dict[str, str]]],
) -> None:
    for role in ROLES:  # each generated request, as every role
        http, headers = sessions[role]
        response = case.call(base_url=gateway_url, session=http, headers=headers, timeout=30)
        try:
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )
        except Exception as exc:
            exc.add_note(f"as {role}")
            raise
