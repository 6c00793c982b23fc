"""Security headers on every answer — pages, API, errors, redirects, static files — and,
under TLS, HSTS and ``Secure`` on every cookie; ``Server`` names no version."""

from __future__ import annotations

import re
import ssl
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core import Settings
from gateway._demo import DEMO_PASSWORD
from gateway._tls import self_signed_certificate

WANTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

# (method, path, expected status): success, API and page errors, redirects, static files
ANSWERS = [
    ("GET", "/login", 200),
    ("GET", "/static/app.css", 200),
    ("GET", "/healthz", 200),
    ("GET", "/api/cameras", 401),
    ("GET", "/api/no/such/route", 401),  # not signed in: nothing to learn about routes
    ("GET", "/static/no-such.css", 404),
    ("GET", "/cases", 303),  # not signed in: to the sign-in page
    ("GET", "/no-such-page", 303),
    ("PUT", "/api/openapi.json", 405),
]


def _check(response: aiohttp.ClientResponse) -> None:
    headers = response.headers
    for name, value in WANTED.items():
        assert headers.get(name) == value, (response.url, name, headers.get(name))
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert headers.get("Server") == "zongzhi-gateway"
    assert not re.search(r"\d", headers.get("Server", "")), headers.get("Server")


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS)
async def test_headers_on_every_answer(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, allow_redirects=False)
    assert response.status == status
    _check(response)
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


async def test_internal_errors_carry_them_too(client: TestClient) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    # routes are frozen once the app started; a sub-app cannot be added either, so use a
    # fresh app from the same factory with one more route
    from gateway import create_app

    app = create_app(client.app[_settings_key()])
    app.router.add_get("/healthz-boom", boom)  # a public path: no sign-in needed
    async with TestClient(TestServer(app)) as other:
        response = await other.get("/healthz-boom")
        assert response.status == 500
        _check(response)


def _settings_key() -> web.AppKey[Settings]:
    from web import SETTINGS

    return SETTINGS


@pytest.fixture
def tls_context(tmp_path: Path) -> ssl.SSLContext:
    cert, key = self_signed_certificate(["127.0.0.1", "localhost"])
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_under_tls_hsts_and_secure_cookies(
    app_settings: Settings, tls_context: ssl.SSLContext, tmp_path: Path
) -> None:
    from gateway import create_app

    settings = replace(
        app_settings,
        http=replace(
            app_settings.http, tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem"
        ),
    )
    server = TestServer(create_app(settings))
    await server.start_server(ssl=tls_context)
    connector = aiohttp.TCPConnector(ssl=False)
    async with TestClient(server, connector=connector) as tls:
        assert str(tls.make_url("/")).startswith("https://")
        page = await tls.get("/login")
        _check(page)
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        cookies = page.headers.getall("Set-Cookie")
        assert any(c.startswith("zz_login_csrf=") for c in cookies)
        assert all("; Secure" in c for c in cookies), cookies
        missing = await tls.get("/static/nothing.css")
        assert missing.status == 404 and "Strict-Transport-Security" in missing.headers
        login = await tls.post(
            "/api/session", json={"username": "hpx.admin", "password": DEMO_PASSWORD}
        )
        assert login.status == 200
        session = [c for c in login.headers.getall("Set-Cookie") if c.startswith("zz_session=")]
        assert session and "Secure" in session[0] and "HttpOnly" in session[0]
