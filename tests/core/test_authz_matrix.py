"""一级一权限: every role × level × object, decided by the one authorization layer.

The expectations are written out by hand here (which roles hold which permission, which
units each unit sees) rather than derived from the code under test.
"""

from __future__ import annotations

import itertools

import pytest
from aiohttp.test_utils import TestClient

from core import Permission, Principal, Role, can
from gateway._demo import DEMO_USERS
from tests.helpers import login

C, T1, T2 = "431226000000", "431226203000", "431226100000"
V11, V12, V13, V14, V21 = (
    "431226203201",
    "431226203202",
    "431226203203",
    "431226203204",
    "431226100201",
)
ALL = [C, T1, V11, V12, V13, V14, T2, V21]
SEES = {
    C: set(ALL),
    T1: {T1, V11, V12, V13, V14},
    T2: {T2, V21},
    V11: {V11},
    V12: {V12},
}

P = Permission
GRANTS: dict[Role, set[Permission]] = {
    Role.ADMIN: set(Permission),
    Role.OPERATOR: {P.ORG_READ, P.CAMERA_VIEW, P.CAMERA_TALK, P.RECORDING_VIEW, P.MEETING_JOIN},
    Role.MEDIATOR: {
        P.ORG_READ,
        P.CAMERA_VIEW,
        P.CAMERA_TALK,
        P.RECORDING_VIEW,
        P.RECORDING_CONTROL,
        P.RECORDING_EXPORT,
        P.CASE_READ,
        P.CASE_WRITE,
        P.CASE_REVEAL_PII,
        P.LEDGER_READ,
        P.LEDGER_SUBMIT,
        P.MEETING_JOIN,
    },
    Role.CHAIR: {
        P.ORG_READ,
        P.CAMERA_VIEW,
        P.CAMERA_TALK,
        P.CAMERA_TALK_TAKEOVER,
        P.RECORDING_VIEW,
        P.CASE_READ,
        P.LEDGER_READ,
        P.MEETING_JOIN,
        P.MEETING_CHAIR,
    },
    Role.AUDITOR: {P.ORG_READ, P.RECORDING_VIEW, P.CASE_READ, P.LEDGER_READ, P.AUDIT_READ},
}


@pytest.mark.parametrize(("role", "home"), list(itertools.product(Role, SEES)))
def test_matrix(role: Role, home: str) -> None:
    principal = Principal("user", 1, "someone", home, role)
    for permission, target in itertools.product(Permission, ALL):
        expected = permission in GRANTS[role] and target in SEES[home]
        assert can(principal, permission, target) is expected, (role, home, permission, target)


def test_machine_accounts_follow_the_same_rules() -> None:
    machine = Principal("machine", 7, "xueliang-uplink", T1, Role.OPERATOR)
    assert can(machine, P.CAMERA_VIEW, V13)
    assert not can(machine, P.CAMERA_VIEW, V21)
    assert not can(machine, P.CASE_READ, V13)


@pytest.mark.slow
async def test_every_demo_user_sees_exactly_its_subtree_through_the_api(client: TestClient) -> None:
    response = await client.post(
        "/api/session", json={"username": "county.admin", "password": "Zongzhi-demo-2026"}
    )
    rooms = (await (await client.get("/api/rooms")).json())["rooms"]
    assert {r["unit"] for r in rooms} == set(ALL) and response.status == 200
    for demo in DEMO_USERS:
        client.session.cookie_jar.clear()
        await login(client, demo.username)
        units = {u["code"] for u in (await (await client.get("/api/units")).json())["units"]}
        assert units == SEES[demo.unit], demo.username
        for room in rooms:
            answer = await client.get(f"/api/rooms/{room['id']}")
            assert answer.status == (200 if room["unit"] in SEES[demo.unit] else 404), (
                demo.username,
                room,
            )
            if answer.status == 404:
                assert room["name"] not in await answer.text()  # nothing leaks
        visible = {r["unit"] for r in (await (await client.get("/api/rooms")).json())["rooms"]}
        assert visible == SEES[demo.unit]
