"""What an upper platform is configured with, validated (pure), and the gateway's own ID."""

from __future__ import annotations

from dataclasses import dataclass

from core import InvalidInputError

__all__ = [
    "TRANSPORTS",
    "VERSIONS",
    "PlatformConfig",
    "derive_device_id",
    "validate_platform",
]

TRANSPORTS = ("udp", "tcp")
VERSIONS = ("2016", "2022")
CHARSETS = ("GB2312", "GB18030", "UTF-8")


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """One upper platform as the SIP side uses it (the password in clear, in memory only)."""

    id: int
    name: str
    unit_code: str
    server_id: str
    domain: str
    host: str
    port: int
    transport: str
    username: str  # "" = the gateway's device ID
    password: str
    expires: int = 3600
    keepalive_interval: int = 60
    keepalive_misses: int = 3
    charset: str = "GB2312"
    version: str = "2016"
    cameras: tuple[int, ...] | None = None
    enabled: bool = True

    def account(self, device_id: str) -> str:
        return self.username or device_id


def _bad(message: str, code: str = "invalid_platform") -> InvalidInputError:
    return InvalidInputError(message, code=code)


def _digits(value: str, count: int, what: str) -> str:
    value = value.strip()
    if len(value) != count or not (value.isascii() and value.isdigit()):
        raise _bad(f"{what} must be exactly {count} digits, not {value!r}")
    return value


def validate_platform(config: PlatformConfig) -> PlatformConfig:
    """``config`` with normalised fields, or InvalidInputError naming the bad field."""
    name = config.name.strip()
    if not name:
        raise _bad("name must not be empty")
    server_id = _digits(config.server_id, 20, "server_id")
    domain = _digits(config.domain or server_id[:10], 10, "domain")
    host = config.host.strip()
    if not host or any(c in host for c in " /@;?#<>\"'"):
        raise _bad(f"host {config.host!r} is not an IP address or host name")
    if not 1 <= config.port <= 65535:
        raise _bad(f"port {config.port} is not between 1 and 65535")
    transport = config.transport.strip().lower()
    if transport not in TRANSPORTS:
        raise _bad(f"transport must be udp or tcp, not {config.transport!r}")
    username = config.username.strip()
    if any(c in username for c in ' "\\\r\n'):
        raise _bad("username must not contain spaces, quotes or backslashes")
    if not config.password or any(c in config.password for c in '"\\\r\n'):
        raise _bad("password must not be empty and must not contain quotes or line breaks")
    if not 60 <= config.expires <= 86400:
        raise _bad(f"expires {config.expires} s is not between 60 and 86400")
    if not 5 <= config.keepalive_interval <= 3600:
        raise _bad(f"keepalive_interval {config.keepalive_interval} s is not between 5 and 3600")
    if not 1 <= config.keepalive_misses <= 20:
        raise _bad(f"keepalive_misses {config.keepalive_misses} is not between 1 and 20")
    charset = config.charset.strip().upper().replace("UTF8", "UTF-8")
    if charset not in CHARSETS:
        raise _bad(f"charset must be one of {', '.join(CHARSETS)}, not {config.charset!r}")
    if config.version not in VERSIONS:
        raise _bad(f"version must be 2016 or 2022, not {config.version!r}")
    return PlatformConfig(
        id=config.id,
        name=name,
        unit_code=config.unit_code,
        server_id=server_id,
        domain=domain,
        host=host,
        port=config.port,
        transport=transport,
        username=username,
        password=config.password,
        expires=config.expires,
        keepalive_interval=config.keepalive_interval,
        keepalive_misses=config.keepalive_misses,
        charset=charset,
        version=config.version,
        cameras=config.cameras,
        enabled=config.enabled,
    )


def derive_device_id(root_unit_code: str | None, configured: str = "") -> str:
    """The gateway's own 20-digit ID: the configured one, else from the root unit's
    division code — center code (8 digits), industry 00, type 118 (NVR-like device: it
    answers a catalog of camera channels), network 0, serial 000001."""
    if configured.strip():
        value = configured.strip()
        if len(value) != 20 or not (value.isascii() and value.isdigit()):
            raise ValueError(f"uplink.device_id {value!r} must be exactly 20 digits")
        return value
    code = root_unit_code or "340200000000"  # the GB/T 28181 examples' centre, no unit yet
    return f"{code[:8].ljust(8, '0')}001180000001"
