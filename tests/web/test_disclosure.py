"""What one answer tells beyond its scope: /metrics only for machines (its token, or
loopback), audit counts of the caller's own scope, no case numbers for those without
case access."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import ifaddr
import pytest
from aiohttp.test_utils import TestClient, TestServer

from core import Settings
from recordings._models import RecordingCaseRow
from tests.recordings.test_scope import recording
from tests.web.test_cases_api import _new_case, login
from web import DB


def _lan_address() -> str | None:
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                return ip.ip
    return None


async def test_metrics_answer_loopback_without_a_token(client: TestClient) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert "gateway_http_requests_total" in await response.text()


async def test_metrics_refuse_another_machine_without_a_token(app_settings: Settings) -> None:
    from gateway import create_app

    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to call from")
    async with TestClient(TestServer(create_app(app_settings), host=address)) as lan:
        response = await lan.get("/metrics")
        assert response.status == 403
        assert "GATEWAY_HTTP_METRICS_TOKEN" in await response.text()
        assert (await lan.get("/healthz")).status == 200  # the port itself answers


async def test_metrics_with_a_token_need_it_from_anywhere(app_settings: Settings) -> None:
    from gateway import create_app

    settings = replace(app_settings, http=replace(app_settings.http, metrics_token="m-" + "x" * 30))
    async with TestClient(TestServer(create_app(settings))) as local:
        assert (await local.get("/metrics")).status == 401
        wrong = await local.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        right = await local.get("/metrics", headers={"Authorization": "Bearer m-" + "x" * 30})
        assert right.status == 200 and "gateway_http" in await right.text()


async def test_audit_counts_are_of_the_callers_scope(client: TestClient) -> None:
    await login(client, "county.admin")
    county = (await (await client.get("/api/audit/verify")).json())["entries"]
    await login(client, "gc.admin")  # another township: none of hpx's entries
    township = await (await client.get("/api/audit/verify")).json()
    listed = await (await client.get("/api/audit?limit=500")).json()
    assert township["ok"] is True, township
    assert township["entries"] == township["checked"] == len(listed["entries"]) < county


async def test_recordings_show_case_numbers_only_to_case_readers(client: TestClient) -> None:
    """A recording tied to a case: the mediator sees the case number, the operator (who
    may watch recordings but has no case access) sees that it is tied, not to what."""
    case = await _new_case(client, "hpx.mediator")
    assert case["number"]
    started = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    async with client.app[DB].transaction() as session:
        session.add(recording("rec-disclosure", "431226203000", started))
        await session.flush()
        session.add(
            RecordingCaseRow(
                recording_id="rec-disclosure",
                case_id=case["id"],
                note="张三与李四的调解",
                attached_by="user:test",
            )
        )
    shown = await (await client.get("/api/recordings/rec-disclosure")).json()
    assert shown["cases"][0]["case_number"] == case["number"]
    await login(client, "hpx.watch")
    listed = (await (await client.get("/api/recordings?limit=200")).json())["recordings"]
    for answer in (
        await (await client.get("/api/recordings/rec-disclosure")).json(),
        next(r for r in listed if r["id"] == "rec-disclosure"),
    ):
        link = answer["cases"][0]
        assert link["case_id"] == case["id"]
        assert link["case_number"] is None and link["note"] is None
        assert answer["legal_hold"] == shown["legal_hold"]


async def test_metrics_on_their_own_loopback_port(app_settings: Settings) -> None:
    from gateway import create_app
    from tests.camera_registry.conftest import free_port

    port = free_port()
    settings = replace(app_settings, http=replace(app_settings.http, metrics_port=port))
    async with TestClient(TestServer(create_app(settings))) as main:
        assert (await main.get("/metrics")).status == 404  # not on the main port
        own = await main.session.get(f"http://127.0.0.1:{port}/metrics")
        assert own.status == 200 and "gateway_http_requests_total" in await own.text()
        assert own.headers["X-Content-Type-Options"] == "nosniff"
        assert (await main.session.get(f"http://127.0.0.1:{port}/api/me")).status == 404
    with pytest.raises(aiohttp.ClientConnectionError):  # closed with the application
        async with aiohttp.ClientSession() as after:
            await after.get(f"http://127.0.0.1:{port}/metrics")
