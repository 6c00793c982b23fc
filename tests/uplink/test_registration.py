"""Registration and keepalive against the simulated upper platform, over UDP and TCP:
digest with and without qop, refresh on the same Call-ID, re-registration after the
platform forgets the gateway, misses keepalives or drops the connection, back-off on
failures, unregister on close."""

from __future__ import annotations

import asyncio
import socket

import pytest

from simulator import SimulatedPlatform

from .sip_helpers import DEVICE_ID, running_link, until


@pytest.fixture(params=["udp", "tcp"])
async def platform(request: pytest.FixtureRequest) -> SimulatedPlatform:
    async with SimulatedPlatform(transport=request.param, password="Xl-pw-2026") as running:
        yield running


async def test_register_with_qop_digest_then_keepalives_and_refresh(
    platform: SimulatedPlatform,
) -> None:
    platform.expires = 1  # granted 1 s: refreshes come every ~0.6 s
    async with running_link(platform) as link:
        await until(lambda: link.registered, what="registered")
        record = await platform.wait_registered(DEVICE_ID)
        assert record.transport == platform.transport
        await until(lambda: len(record.keepalives) >= 2, within=10, what="two keepalives")
        await until(lambda: len(platform.registers) >= 4, within=10, what="refreshes")
        first, second = platform.registers[:2]
        assert first.get("Authorization") is None and first.get("Expires") == "3600"
        authorization = second.get("Authorization") or ""
        assert "qop=auth" in authorization and "nc=00000001" in authorization
        assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in authorization
        assert f'username="{DEVICE_ID}"' in authorization
        # one dialog-like registration: same Call-ID and From tag, CSeq counting up
        assert {m.call_id for m in platform.registers} == {first.call_id}
        assert {m.tag("From") for m in platform.registers} == {first.tag("From")}
        cseqs = [int((m.get("CSeq") or "").split()[0]) for m in platform.registers]
        assert cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)
        assert all("rport" in (m.get("Via") or "") for m in platform.registers)
        assert link.last_keepalive_ok is not None and link.last_error is None
    assert platform.unregistered == [DEVICE_ID]  # closing unregistered (Expires: 0)
    assert platform.registers[-1].get("Expires") == "0"


async def test_plain_digest_without_qop() -> None:
    async with (
        SimulatedPlatform(transport="udp", qop=False, opaque=None) as platform,
        running_link(platform, username="xl-account") as link,
    ):
        await until(lambda: link.registered, what="registered")
        authorization = platform.registers[1].get("Authorization") or ""
        assert "qop" not in authorization and "nc=" not in authorization
        assert 'username="xl-account"' in authorization
        assert platform.devices[DEVICE_ID].username == "xl-account"


async def test_wrong_password_fails_in_words_and_backs_off(platform: SimulatedPlatform) -> None:
    async with running_link(platform, password="not-the-password") as link:
        await until(lambda: link.state == "failed", what="failed")
        assert link.last_error_code == "wrong_password"
        assert "password" in (link.last_error or "")
        assert platform.failures and DEVICE_ID not in platform.devices
        attempts = len(platform.registers)
        await asyncio.sleep(0.5)  # the wrong-password back-off is ≥ 0.8 s here
        assert len(platform.registers) == attempts


async def test_silent_platform_fails_then_registers_when_it_comes_back(
    platform: SimulatedPlatform,
) -> None:
    platform.mute = True
    async with running_link(platform) as link:
        await until(lambda: link.state == "failed", within=15, what="failed")
        assert link.last_error_code in ("no_answer", "connection_refused")
        assert "no answer" in (link.last_error or "") or "reach" in (link.last_error or "")
        platform.mute = False
        await until(
            lambda: link.registered, within=15, what="registered after the platform is back"
        )
        assert link.last_error is None


async def test_platform_restart_makes_the_gateway_register_again(
    platform: SimulatedPlatform,
) -> None:
    async with running_link(platform) as link:
        first = await platform.wait_registered(DEVICE_ID)
        platform.restart()  # forgets the gateway: the next keepalive gets 404
        await until(lambda: DEVICE_ID in platform.devices, within=15, what="re-registered")
        again = platform.devices[DEVICE_ID]
        assert again.call_id != first.call_id  # a fresh registration, not a refresh
        assert link.registered


async def test_missed_keepalives_re_register(platform: SimulatedPlatform) -> None:
    async with running_link(platform) as link:
        await platform.wait_registered(DEVICE_ID)
        await until(lambda: link.registered, what="registered")
        platform.mute = True
        await until(lambda: not link.registered, within=20, what="registration given up")
        assert link.last_error_code in ("keepalive_lost", "no_answer", "disconnected")
        platform.mute = False
        await until(lambda: link.registered, within=20, what="registered again")


async def test_tcp_connection_drop_re_registers() -> None:
    async with (
        SimulatedPlatform(transport="tcp") as platform,
        running_link(platform, keepalive_interval=30) as link,
    ):
        first = await platform.wait_registered(DEVICE_ID)
        registers = len(platform.registers)
        platform.drop_connections()
        await until(lambda: len(platform.registers) > registers, within=10, what="new REGISTER")
        await until(lambda: link.registered, what="registered again")
        assert platform.devices[DEVICE_ID].call_id != first.call_id


async def test_garbage_on_the_sip_port_disturbs_nothing() -> None:
    async with (
        SimulatedPlatform(transport="udp") as platform,
        running_link(platform) as link,
    ):
        await platform.wait_registered(DEVICE_ID)
        port = link.endpoint.port
        junk = [
            b"\x00\xff" * 300,
            b"INVITE\r\n\r\n",
            b"SIP/2.0 999\r\n\r\n",
            b"MESSAGE sip:x@y SIP/2.0\r\nContent-Length: 99\r\n\r\nshort",
            b"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9\r\n\r\n",  # no CSeq
        ]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in junk:
                sock.sendto(data, ("127.0.0.1", port))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(
                b"MESSAGE sip:x@127.0.0.1 SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKbadto\r\n"
                b"From: <sip:34020000002000000001@3402000000>;tag=1\r\nTo: <sip:@>\r\n"
                b"Call-ID: bad-to\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
                ("127.0.0.1", port),
            )
            answer = await asyncio.to_thread(sock.recv, 4096)
            assert answer.startswith(b"SIP/2.0 400 "), answer[:60]
        with socket.create_connection(("127.0.0.1", port)) as tcp:
            tcp.sendall(b"GARBAGE " * 5000)  # a head over 16 KiB: the connection closes
        keepalives = len(platform.devices[DEVICE_ID].keepalives)
        await until(
            lambda: len(platform.devices[DEVICE_ID].keepalives) > keepalives + 1,
            what="keepalives go on",
        )
        assert link.registered


async def test_simulator_command_line_runs_a_platform(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--cameras", "0", "--discovery-port", "-1",
        "--platform", "--platform-port", "0", "--platform-password", "Cli-pw-1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        text = b""
        while not text.rstrip().endswith(b"}") or text.count(b"{") != text.count(b"}"):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, "the simulator exited before printing its endpoints"
            text += line
        info = json.loads(text)["platform"]
        assert info["port"] > 0 and info["server_id"] == "34020000002000000001"
        remote = SimulatedPlatform(password="Cli-pw-1")  # only to describe it to the link
        remote.port = info["port"]
        async with running_link(remote) as link:
            await until(lambda: link.registered, what="registered to the command-line platform")
    finally:
        process.terminate()
        await process.wait()
