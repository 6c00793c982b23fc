"""``python -m gateway tls-cert``: a certificate a TLS client accepts for the LAN address."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509

from gateway._cli import main


async def test_tls_cert_serves_https_the_client_can_verify(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The command line is synchronous: run it as `python -m gateway` would, off this loop.
    args = ["tls-cert", "--name", "127.0.0.1", "--name", "zz.local", "--out", str(tmp_path)]
    assert await asyncio.to_thread(main, args) == 0
    out = capsys.readouterr().out
    assert f"GATEWAY_HTTP_TLS_CERT={tmp_path / 'gateway.crt'}" in out
    assert (tmp_path / "gateway.key").stat().st_mode & 0o077 == 0
    cert = x509.load_pem_x509_certificate((tmp_path / "gateway.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    again = ["tls-cert", "--name", "127.0.0.1", "--out", str(tmp_path)]
    assert await asyncio.to_thread(main, again) == 1  # no overwrite

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "gateway.crt", tmp_path / "gateway.key")

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", hello)
    server = TestServer(app, host="127.0.0.1", scheme="https")
    await server.start_server(ssl=server_ctx)
    try:
        client_ctx = ssl.create_default_context(cafile=str(tmp_path / "gateway.crt"))
        async with aiohttp.ClientSession() as session:
            url = f"https://127.0.0.1:{server.port}/"
            async with session.get(url, ssl=client_ctx) as response:
                assert await response.text() == "ok"
    finally:
        await server.close()
