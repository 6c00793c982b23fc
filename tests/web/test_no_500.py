"""No input earns a 500: the inputs that did, as a table, against the real app.

Each row is (method, path, body, headers); the body is raw bytes, sent as JSON.  Every
answer must be a 4xx with a JSON error (never a 500), and the gateway keeps working.
"""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import login

BIG = str(2**64)
HUGE = "9" * 5000
DEEP = b"[" * 100_000 + b"]" * 100_000
SURROGATE = b'"\\ud800x"'


def _room(name: bytes) -> bytes:
    return b'{"unit": "431226203201", "kind": "mediation", "name": ' + name + b"}"


Row = tuple[str, str, bytes | None, dict[str, str]]
ROWS: list[Row] = [
    # integers beyond 2^63 and Unicode digits in paths
    ("GET", f"/api/cameras/{BIG}", None, {}),
    ("GET", "/api/cameras/²", None, {}),
    ("GET", "/api/cameras/١٢", None, {}),
    ("PATCH", f"/api/cameras/{BIG}", b"{}", {}),
    ("DELETE", f"/api/cameras/{BIG}", None, {}),
    ("GET", f"/api/rooms/{BIG}", None, {}),
    ("GET", "/api/rooms/²", None, {}),
    ("GET", f"/api/cases/{BIG}", None, {}),
    ("GET", "/api/cases/²", None, {}),
    ("GET", "/api/cases/١", None, {}),
    ("GET", f"/api/cases/{BIG}/recordings", None, {}),
    ("POST", f"/api/cases/{BIG}/close", b"{}", {}),
    ("POST", f"/api/cases/1/parties/{BIG}/reveal", b"{}", {}),
    ("POST", f"/api/cases/1/sessions/{BIG}/start", b"{}", {}),
    ("DELETE", f"/api/cases/1/recordings/{BIG}", None, {}),
    ("DELETE", f"/api/tokens/{BIG}", None, {}),
    ("DELETE", "/api/tokens/²", None, {}),
    ("POST", f"/api/cameras/{BIG}/whep", b"v=0", {"Content-Type": "application/sdp"}),
    ("POST", "/api/cameras/²/whep", b"v=0", {"Content-Type": "application/sdp"}),
    ("POST", f"/api/cameras/{BIG}/recordings", b"{}", {}),
    ("POST", f"/api/rooms/{BIG}/recording-policy", b"{}", {}),
    ("GET", f"/api/recordings/{BIG}", None, {}),
    ("GET", f"/api/recordings/1/segments/{BIG}.mp4", None, {}),
    ("GET", "/api/recordings/1/segments/².jpg", None, {}),
    ("GET", f"/api/exports/{BIG}", None, {}),
    ("GET", f"/api/uplink/platforms/{BIG}", None, {}),
    ("GET", f"/api/meetings/occurrences/{BIG}", None, {}),
    ("GET", f"/cases/{BIG}", None, {}),
    ("GET", "/cases/²", None, {}),
    # integers beyond 2^63 and odd values in queries
    ("GET", f"/api/audit?limit={BIG}", None, {}),
    ("GET", f"/api/audit?before={BIG}", None, {}),
    ("GET", "/api/audit?before=²", None, {}),
    ("GET", f"/api/cases?limit={BIG}", None, {}),
    ("GET", f"/api/cases?offset={BIG}", None, {}),
    ("GET", f"/api/kpi?year={BIG}", None, {}),
    ("GET", "/api/kpi?year=0", None, {}),
    ("GET", f"/api/ledger?version={BIG}", None, {}),
    ("GET", "/api/ledger?month=0000-13", None, {}),
    ("GET", "/api/recordings?from=0001-01-01", None, {}),
    ("GET", "/api/recordings?to=9999-12-31T23:59:59", None, {}),
    ("GET", f"/api/recordings?camera_id={BIG}", None, {}),
    ("GET", f"/api/recordings?case_id={BIG}", None, {}),
    ("GET", "/api/meetings?from=0001-01-01&to=9999-12-31", None, {}),
    # a malformed unit code inside the caller's own prefix
    ("GET", "/api/units/43122620300x", None, {}),
    ("GET", "/api/units/4312262030", None, {}),
    ("GET", "/api/rooms?unit=43122620320x", None, {}),
    ("GET", "/api/cases?unit=4312262032019", None, {}),
    ("GET", "/api/cameras?unit=431226203٢٠١", None, {}),
    # bodies: deep JSON, long numbers, integers beyond 2^63, lone surrogates, non-finite
    ("POST", "/api/rooms", DEEP, {}),
    ("POST", "/api/rooms", b'{"unit": ' + HUGE.encode() + b"}", {}),
    ("POST", "/api/cameras", b'{"room_id": ' + BIG.encode() + b', "rtsp_url": "rtsp://x/"}', {}),
    ("POST", "/api/cameras", b'{"room_id": -' + BIG.encode() + b', "rtsp_url": "rtsp://x/"}', {}),
    ("POST", "/api/rooms", _room(SURROGATE), {}),
    ("POST", "/api/rooms", b'{"unit": "431226203201", "kind": "mediation", "name": NaN}', {}),
    ("POST", "/api/cases", b'{"title": "\\udfff"}', {}),
    ("POST", "/api/units", b'{"code": "\\ud83d", "name": "x"}', {}),
    ("POST", "/api/tokens", b'{"name": "\\ud800", "role": "operator"}', {}),
    ("POST", "/api/rooms", b"\xff\xfe{}", {}),
    # headers
    ("POST", "/api/rooms", _room(b'"x"'), {"X-CSRF-Token": "令牌"}),
    # SDP offers that are not SDP
    ("POST", "/api/cameras/1/whep", b"v=0\r\nm=video -1 RTP/AVP 96\r\n", {}),
    (
        "POST",
        "/api/cameras/1/whep",
        b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:banana\r\n",
        {},
    ),
    (
        "POST",
        "/api/cameras/1/whep",
        b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:999999 H264/90000\r\n",
        {},
    ),
    (
        "POST",
        "/api/cameras/1/whep",
        b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=candidate:garbage\r\n",
        {},
    ),
    ("POST", "/api/cameras/1/whep", b"v=0\r\n\xff\xfe\xfd\r\n", {}),
    ("POST", "/api/cameras/1/talk", b"v=0\r\nm=audio -5 RTP/AVP 0\r\n", {}),
]


def _ids() -> list[str]:
    return [f"{m} {p[:48]} {(b or b'')[:24]!r}" for m, p, b, _h in ROWS]


@pytest.mark.parametrize(("method", "path", "body", "headers"), ROWS, ids=_ids())
async def test_no_input_earns_a_500(
    client: TestClient, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    csrf = await login(client, "hpx.admin")
    sent = {"X-CSRF-Token": csrf, **headers}
    if body is not None:
        sdp = path.endswith(("/whep", "/talk"))
        sent.setdefault("Content-Type", "application/sdp" if sdp else "application/json")
    response = await client.request(method, path, data=body, headers=sent, allow_redirects=False)
    text = await response.text()
    assert 400 <= response.status < 500, (response.status, text[:300])
    if path.startswith("/api/"):
        payload = json.loads(text)
        assert payload["error"] and payload["message"], payload
    me = await client.get("/api/me")  # and the gateway still answers
    assert me.status == 200
