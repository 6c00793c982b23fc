"""Typed settings, built once in ``main()`` from the environment and an optional TOML file.

Environment names are prefixed by concern (``GATEWAY_HTTP_PORT``, ``GATEWAY_DATABASE_URL`` …)
and override the TOML file given by ``GATEWAY_CONFIG``.  Nothing here is read at import time.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AppSettings",
    "DatabaseSettings",
    "HttpSettings",
    "LogSettings",
    "RestreamSettings",
    "SecuritySettings",
    "Settings",
    "StorageSettings",
    "UplinkSettings",
    "WebRtcSettings",
    "load_settings",
]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: PEM files; when both are set the gateway serves HTTPS (browser microphones need a
    #: secure context anywhere but on localhost).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Largest request body accepted, in bytes.
    max_body: int = 1 << 20
    #: ``/metrics`` for a scraper on another machine: it sends ``Authorization: Bearer
    #: <this>`` (``GATEWAY_HTTP_METRICS_TOKEN``).  Empty: ``/metrics`` answers loopback only.
    metrics_token: str = ""
    #: Serve ``/metrics`` on its own port on 127.0.0.1 instead (``GATEWAY_HTTP_METRICS_PORT``;
    #: 0: on the main port).  The main port then answers 404 for ``/metrics``.
    metrics_port: int = 0


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    #: Empty means "a SQLite file in the data directory".
    url: str = ""
    echo: bool = False


@dataclass(frozen=True, slots=True)
class StorageSettings:
    data_dir: Path = Path("data")


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    session_ttl_minutes: int = 8 * 60
    session_idle_minutes: int = 60
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    password_min_length: int = 10
    #: Set the ``Secure`` flag on cookies; defaults to on when TLS is configured.
    cookie_secure: bool | None = None


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    #: ``json`` (one object per line) or ``text``.
    format: str = "json"


@dataclass(frozen=True, slots=True)
class WebRtcSettings:
    """Live view and talk-back (``GATEWAY_WEBRTC_*``).  No STUN by default: offline LANs."""

    #: Extra IP addresses (comma-separated) to advertise as ICE host candidates: the
    #: address browsers reach the gateway at behind a 1:1 NAT or from outside a container.
    advertise_hosts: str = ""
    #: Optional STUN/TURN server for browsers outside the LAN (``turn:10.0.0.5:3478``).
    ice_url: str = ""
    ice_username: str = ""
    ice_password: str = ""
    #: A talk session ends by itself after this many minutes.
    talk_max_minutes: int = 15


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Several gateway processes on one PostgreSQL (``GATEWAY_CLUSTER_*``); see README."""

    #: Where the other processes reach this one over HTTP (live view and talk are forwarded
    #: to the process that runs the camera); default ``http://127.0.0.1:<http port>``.
    url: str = ""
    #: Seconds a camera lease lasts after its last renewal; a dead process's cameras are
    #: taken over this long after it stopped renewing.
    lease_ttl: float = 6.0
    #: Seconds between lease renewals (and rebalancing rounds).
    lease_renew: float = 2.0


@dataclass(frozen=True, slots=True)
class UplinkSettings:
    """The GB/T 28181 link to upper platforms (``GATEWAY_UPLINK_*``, ``[uplink]``)."""

    #: Where the gateway's SIP endpoint listens (UDP and TCP on the same port).  Port 0
    #: binds a free port; ``GET /api/uplink`` reports the one bound.
    sip_host: str = "0.0.0.0"
    sip_port: int = 5060
    #: The gateway's own 20-digit GB/T 28181 ID; empty: derived from the root unit's
    #: division code (industry 00, type 118 NVR-like device, serial 000001).
    device_id: str = ""
    #: The address platforms reach the gateway at (Via, Contact, SDP ``c=``): set it
    #: behind NAT or in a container; empty: the local address of the route to each platform.
    advertise_host: str = ""


@dataclass(frozen=True, slots=True)
class AppSettings:
    """The deployment as a whole (``GATEWAY_APP_*``, ``[app]``)."""

    #: The IANA time zone the centres work in: every time shown, entered, bucketed into a
    #: ledger month or exported is in it; instants are stored in UTC.  China is one zone.
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class RestreamSettings:
    """The RTSP restream for platforms and NVRs that pull (``GATEWAY_RESTREAM_*``)."""

    #: Off: no RTSP server at all.
    enabled: bool = True
    host: str = "0.0.0.0"
    #: 0 picks a free port (tests).
    port: int = 8554
    #: A session ends this many seconds after the reader was last heard from.
    session_timeout: int = 60
    #: RTSP connections at once; more are answered 503.
    max_connections: int = 256
    #: A port of this process alone, where sibling processes redirect (RTSP 302) readers
    #: of the cameras it runs; ``serve --workers`` sets ``port + 1 + I`` for worker I and
    #: the workers then share ``port``.  0: ``port`` is this process's own.
    own_port: int = 0


@dataclass(frozen=True, slots=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    log: LogSettings = field(default_factory=LogSettings)
    webrtc: WebRtcSettings = field(default_factory=WebRtcSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    uplink: UplinkSettings = field(default_factory=UplinkSettings)
    restream: RestreamSettings = field(default_factory=RestreamSettings)

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.storage.data_dir / 'gateway.db').resolve()}"

    @property
    def tls(self) -> bool:
        return self.http.tls_cert is not None and self.http.tls_key is not None

    @property
    def zone(self) -> ZoneInfo:
        """The deployment's time zone (``[app] timezone``), checked when settings load."""
        return ZoneInfo(self.app.timezone)


_SECTIONS: dict[str, type[Any]] = {
    "app": AppSettings,
    "http": HttpSettings,
    "database": DatabaseSettings,
    "storage": StorageSettings,
    "security": SecuritySettings,
    "log": LogSettings,
    "webrtc": WebRtcSettings,
    "cluster": ClusterSettings,
    "uplink": UplinkSettings,
    "restream": RestreamSettings,
}

# Short, documented names for the most used variables (the issue and README name these).
_ALIASES = {"GATEWAY_DATA_DIR": ("storage", "data_dir")}


def _coerce(section: str, name: str, raw: object, kind: object) -> object:
    where = f"setting {section}.{name}"
    text = str(raw).strip()
    if kind in ("int", int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{where} must be an integer, got {raw!r}") from None
    if kind in ("float", float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{where} must be a number, got {raw!r}") from None
    if kind in ("bool", "bool | None", bool):
        if isinstance(raw, bool):
            return raw
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where} must be true or false, got {raw!r}")
    if kind in ("Path", "Path | None"):
        return Path(text) if text else None
    return text


def load_settings(environ: Mapping[str, str], config_file: Path | None = None) -> Settings:
    """Build settings: defaults ← TOML file (``config_file`` or ``$GATEWAY_CONFIG``) ← env.

    Raises ``ValueError`` naming the setting when a value has the wrong type or a name is
    unknown, so a typo in the configuration fails at start-up instead of being ignored.
    """
    values: dict[str, dict[str, object]] = {s: {} for s in _SECTIONS}
    path = config_file or (
        Path(environ["GATEWAY_CONFIG"]) if environ.get("GATEWAY_CONFIG") else None
    )
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"configuration file {path} does not exist") from None
        for section, table in document.items():
            if section not in _SECTIONS or not isinstance(table, dict):
                raise ValueError(
                    f"unknown section [{section}] in {path}; known: {sorted(_SECTIONS)}"
                )
            values[section].update(table)
    for key, raw in environ.items():
        if key in _ALIASES:
            section, name = _ALIASES[key]
            values[section][name] = raw
            continue
        for section in _SECTIONS:
            prefix = f"GATEWAY_{section.upper()}_"
            if key.startswith(prefix):
                values[section][key[len(prefix) :].lower()] = raw
    built: dict[str, object] = {}
    for section, cls in _SECTIONS.items():
        known = {f.name: f.type for f in fields(cls)}
        kwargs: dict[str, object] = {}
        for name, value in values[section].items():
            if name not in known:
                raise ValueError(
                    f"unknown setting {section}.{name}; known: {', '.join(sorted(known))}"
                )
            kwargs[name] = _coerce(section, name, value, known[name])
        built[section] = replace(cls(), **kwargs)
    settings = Settings(**built)  # type: ignore[arg-type]
    try:
        settings.zone  # noqa: B018 - a typo'd zone stops the start, not the first page
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"setting app.timezone: unknown time zone {settings.app.timezone!r} "
            "(an IANA name such as Asia/Shanghai)"
        ) from None
    return settings
