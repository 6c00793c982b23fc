from __future__ import annotations

from pathlib import Path

import pytest

from core import load_settings


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings({})
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("data/gateway.db")


def test_environment_overrides_toml(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[http]\nport = 9000\nhost = "0.0.0.0"\n[security]\nlockout_threshold = 3\n')
    settings = load_settings(
        {"GATEWAY_CONFIG": str(config), "GATEWAY_HTTP_PORT": "9100", "GATEWAY_DATA_DIR": "/srv/zz"}
    )
    assert settings.http.port == 9100 and settings.http.host == "0.0.0.0"
    assert settings.security.lockout_threshold == 3
    assert settings.storage.data_dir == Path("/srv/zz")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_HTTP_PORT": "eighty"}, "http.port must be an integer"),
        ({"GATEWAY_HTTP_PROT": "1"}, "unknown setting http.prot"),
        ({"GATEWAY_SECURITY_COOKIE_SECURE": "maybe"}, "true or false"),
        ({"GATEWAY_CONFIG": "/nonexistent.toml"}, "does not exist"),
        ({"GATEWAY_APP_TIMEZONE": "Asia/Peking"}, "app.timezone: unknown time zone"),
        ({"GATEWAY_APP_TIMEZONE": "../etc/passwd"}, "app.timezone: unknown time zone"),
    ],
)
def test_bad_settings_name_the_problem(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(env)


def test_the_deployment_zone_is_beijing_unless_configured(tmp_path: Path) -> None:
    assert load_settings({}).zone.key == "Asia/Shanghai"
    config = tmp_path / "gateway.toml"
    config.write_text('[app]\ntimezone = "Asia/Urumqi"\n')
    assert load_settings({"GATEWAY_CONFIG": str(config)}).zone.key == "Asia/Urumqi"
