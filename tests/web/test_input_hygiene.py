"""Input hygiene: names and free text refuse control characters, bidirectional overrides
and names made only of invisible characters; every list in a body has a maximum length.
Each refusal is a 400 that says why, and changes nothing (no row, no audit entry)."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import login
from web._schema import check_text


async def _audit_entries(client: TestClient) -> int:
    return int((await (await client.get("/api/audit/verify")).json())["entries"])


def _room(name: str) -> dict[str, object]:
    return {"unit": "431226203201", "kind": "mediation", "name": name}


WINDOW = {"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}

ROWS = [
    ("/api/rooms", _room("调解室\u0000"), "control character U+0000"),
    ("/api/rooms", _room("调解室\n二"), "control character U+000A"),
    ("/api/rooms", _room("\u202e室解调"), "bidirectional control U+202E"),
    ("/api/rooms", _room("调解\u2066室"), "bidirectional control U+2066"),
    ("/api/rooms", _room("\u200b\u200c\u200d\ufeff"), "must contain a visible character"),
    ("/api/rooms", _room("\u3000 \u00a0"), "must contain a visible character"),
    (
        "/api/rooms/1/recording-policy",
        {"mode": "schedule", "windows": [WINDOW] * 15_000},
        "windows: must have at most 100 items",
    ),
    (
        "/api/rooms/1/recording-policy",
        {"mode": "schedule", "windows": [{**WINDOW, "weekdays": list(range(7)) * 100}]},
        "windows[0].weekdays: must have at most 7 items",
    ),
]


@pytest.mark.parametrize(("path", "body", "needle"), ROWS, ids=[r[2][:40] for r in ROWS])
async def test_refused_with_the_reason_and_nothing_changes(
    client: TestClient, path: str, body: dict[str, object], needle: str
) -> None:
    csrf = await login(client, "hpx.admin")
    before = await _audit_entries(client)
    response = await client.post(
        path,
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    assert response.status == 400
    assert needle in (await response.json())["message"]
    assert await _audit_entries(client) == before


async def test_ordinary_text_still_passes(client: TestClient) -> None:
    csrf = await login(client, "hpx.admin")
    response = await client.post(
        "/api/rooms",
        json=_room("第二调解室 (Room 2) — ئۇيغۇر"),
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()


@pytest.mark.parametrize(
    ("text", "name", "ok"),
    [
        ("张三\t李四\n", False, True),  # free text may have tabs and lines
        ("张三\t李四", True, False),  # a name may not
        ("a\u200db", True, True),  # a joiner inside visible text is fine
        ("\u200e", True, False),
        ("x\ud800", False, False),
        ("x\x7f", False, False),
        ("", True, True),  # emptiness is the field's own rule
    ],
)
def test_check_text(text: str, name: bool, ok: bool) -> None:
    assert (check_text(text, name=name) is None) is ok
