"""Command line: ``python -m gateway serve | migrate | demo-seed | user … | token … | audit verify``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import ssl
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web

from core import (
    SYSTEM,
    Accounts,
    Database,
    GatewayError,
    Organisation,
    Role,
    SecretBox,
    Settings,
    UnitCsvError,
    check_schema,
    decode_units_csv,
    initialize,
    load_settings,
    migrate,
    parse_units_csv,
    verify_chain,
)

from . import _cli_recordings
from ._demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from ._demo_cameras import (
    DemoFleet,
    register_demo_cameras,
    register_demo_platform,
    start_demo_fleet,
)
from ._files import secure_data_dir
from ._logging import configure_logging
from ._tls import lan_names, self_signed_certificate
from ._workers import run_worker, supervise
from .app import create_app

__all__ = ["main"]

log = logging.getLogger("gateway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway", description="综治视频网关 zongzhi-gateway"
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (or $GATEWAY_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--migrate", action="store_true", help="migrate the database first")
    serve.add_argument(
        "--demo", action="store_true", help="migrate and seed the demo organisation and users first"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N gateway processes sharing the cameras (one per core; PostgreSQL only)",
    )
    serve.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--demo-cameras",
        type=int,
        default=0,
        metavar="N",
        help="with --demo: run N simulated cameras in a separate process and register one "
        "in every demo room without a camera (16 covers the demo rooms)",
    )
    serve.add_argument(
        "--demo-camera-port",
        type=int,
        default=18600,
        metavar="PORT",
        help="first port of the simulated cameras (camera i: HTTP PORT+2i, RTSP PORT+2i+1)",
    )

    sub.add_parser("migrate", help="create or upgrade the database schema")
    init = sub.add_parser(
        "init",
        help="first start of a real deployment: migrate, create the root unit and the first "
        "administrator (refused once the database has units or accounts)",
    )
    init.add_argument("--unit", required=True, help="12-digit division code of this centre")
    init.add_argument(
        "--name", required=True, help="the centre's name, e.g. 麻阳苗族自治县综治中心"
    )
    init.add_argument("--admin", required=True, metavar="USERNAME", help="first administrator")
    init.add_argument("--display-name", default="")
    _password_args(init)
    units = sub.add_parser("units", help="the organisation tree").add_subparsers(
        dest="units_command", required=True
    )
    units_import = units.add_parser(
        "import",
        help="add the units of a CSV file of division codes and names (code,name[,address,"
        "phone]; UTF-8 or GB18030); idempotent, renames units whose name changed",
    )
    units_import.add_argument("file", type=Path)
    sub.add_parser("demo-seed", help="create the demo organisation and users (idempotent)")

    user = sub.add_parser("user", help="personal accounts (一人一密码)").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="create a personal account")
    add.add_argument("username")
    add.add_argument("--unit", required=True, help="12-digit division code of the unit")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--display-name", default="")
    _password_args(add)
    passwd = user.add_parser("passwd", help="set a new password (also unlocks)")
    passwd.add_argument("username")
    _password_args(passwd)
    for name, text in (("disable", "disable an account"), ("enable", "re-enable an account")):
        user.add_parser(name, help=text).add_argument("username")

    token = sub.add_parser("token", help="machine accounts (一机一账号)").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="create a token; prints it alone on the last line")
    create.add_argument("name")
    create.add_argument("--unit", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_parser("revoke", help="revoke a token by id").add_argument("id", type=int)

    tls = sub.add_parser(
        "tls-cert",
        help="create a self-signed HTTPS certificate for this machine's LAN addresses",
    )
    tls.add_argument(
        "--name",
        action="append",
        default=[],
        help="host name or IP address to include (repeatable; default: every local address)",
    )
    tls.add_argument("--out", type=Path, help="directory for gateway.crt/gateway.key")
    tls.add_argument("--days", type=int, default=825)
    tls.add_argument("--force", action="store_true", help="replace existing files")

    audit = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(
        dest="audit_command", required=True
    )
    audit.add_parser("verify", help="re-hash the chain and report the first broken link")
    _cli_recordings.add_parsers(sub)
    return parser


def _password_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--password",
        help="the password (visible in the process list: prefer the prompt or --password-stdin)",
    )
    group.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )


def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != first:
        raise GatewayError("the two passwords differ")
    return first


async def _with_db(
    settings: Settings, action: Callable[[Database], Awaitable[int]], *, check: bool = True
) -> int:
    db = Database(settings.database_url)
    try:
        if check:
            await check_schema(db)
        return await action(db)
    finally:
        await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(os.environ, args.config)
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log.level, settings.log.format)
    secure_data_dir(settings.storage.data_dir)  # umask 077, data directory 0700
    try:
        return _dispatch(args, settings)
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handled = _cli_recordings.dispatch(args, settings)
    if handled is not None:
        return handled
    accounts = Accounts(settings.security)
    if args.command == "migrate":

        async def run_migrate(db: Database) -> int:
            await migrate(db)
            print(f"database at {_redact(db.url)} is up to date")
            return 0

        return asyncio.run(_with_db(settings, run_migrate, check=False))
    if args.command == "init":
        return asyncio.run(_with_db(settings, lambda db: _init(db, accounts, args), check=False))
    if args.command == "units":
        return asyncio.run(_with_db(settings, lambda db: _units_import(db, args.file)))
    if args.command == "demo-seed":
        box = SecretBox.from_data_dir(settings.storage.data_dir)
        return asyncio.run(_with_db(settings, lambda db: _seed(db, accounts, box)))
    if args.command == "serve":
        return _serve(args, settings, accounts)
    if args.command == "user":
        return asyncio.run(_with_db(settings, lambda db: _user(db, accounts, args)))
    if args.command == "token":
        return asyncio.run(_with_db(settings, lambda db: _token(db, accounts, args)))
    if args.command == "tls-cert":
        return _tls_cert(args, settings)
    if args.command == "audit":
        return asyncio.run(_with_db(settings, _audit_verify))
    raise AssertionError(args.command)


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


async def _seed(db: Database, accounts: Accounts, box: SecretBox) -> int:
    created = await seed_demo(db, accounts, box)
    print("demo data created" if created else "demo data already present")
    print(f"demo accounts (password {DEMO_PASSWORD}):")
    for demo in DEMO_USERS:
        print(f"  {demo.username:16} {demo.role.value:9} {demo.unit}  {demo.display_name}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings, accounts: Accounts) -> int:
    fleet = None
    if args.demo and args.demo_cameras > 0:
        fleet = start_demo_fleet(args.demo_cameras, args.demo_camera_port)
    try:
        return _serve_with(args, settings, accounts, fleet)
    finally:
        if fleet is not None:
            fleet.stop()


def _serve_with(
    args: argparse.Namespace, settings: Settings, accounts: Accounts, fleet: DemoFleet | None
) -> int:
    if args.migrate or args.demo:

        async def prepare(db: Database) -> int:
            await migrate(db)
            if args.demo:
                box = SecretBox.from_data_dir(settings.storage.data_dir)
                await _seed(db, accounts, box)
                if fleet is not None:
                    added = await register_demo_cameras(db, box, fleet)
                    print(f"demo cameras: {len(fleet.cameras)} simulated, {added} newly registered")
                    if await register_demo_platform(db, box, fleet):
                        print("demo upper platform (GB/T 28181, simulated) added: 上级平台")
            return 0

        asyncio.run(_with_db(settings, prepare, check=False))
    # Fail before binding the port, with the message that says which command to run.
    asyncio.run(_with_db(settings, _schema_ok))
    ssl_context = None
    if settings.tls:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        assert settings.http.tls_cert is not None and settings.http.tls_key is not None
        ssl_context.load_cert_chain(settings.http.tls_cert, settings.http.tls_key)
    scheme = "https" if ssl_context else "http"
    url = f"{scheme}://{settings.http.host}:{settings.http.port}"
    if args.worker is not None:
        return run_worker(create_app(settings), settings, args.worker, ssl_context)
    if args.workers > 1:
        children = (["--config", str(args.config)] if args.config else []) + ["serve"]
        return supervise(settings, args.workers, children)

    def started(_aiohttp_banner: str) -> None:
        # Called by run_app once the port is bound: the plain line a person looks for,
        # beside the JSON log.
        log.info("serving", extra={"url": url})
        print(f"综治视频网关已启动: {url}", flush=True)

    web.run_app(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        ssl_context=ssl_context,
        print=started,
        access_log=None,
    )
    return 0


async def _schema_ok(db: Database) -> int:
    return 0  # _with_db has checked the schema before calling this


async def _init(db: Database, accounts: Accounts, args: argparse.Namespace) -> int:
    await migrate(db)
    password = _read_password(args)
    async with db.transaction() as session:
        unit, user = await initialize(
            session,
            accounts,
            SYSTEM,
            unit_code=args.unit,
            unit_name=args.name,
            admin=args.admin,
            password=password,
            display_name=args.display_name,
        )
    print(f"initialised {unit.name} ({unit.code}, {unit.level}) at {_redact(db.url)}")
    print(f"administrator {user.username} can sign in; add units with 'units import FILE'")
    return 0


async def _units_import(db: Database, path: Path) -> int:
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise GatewayError(f"cannot read {path}: {exc.strerror}") from None
    try:
        rows = parse_units_csv(decode_units_csv(data))
    except UnitCsvError as exc:
        raise GatewayError(str(exc), code="bad_unit_file") from None
    org = Organisation()
    async with db.transaction() as session:
        report = await org.import_units(session, SYSTEM, rows)
    for unit in report.added:
        print(f"added    {unit.code}  {unit.level:8}  {unit.name}")
    for code, old, new in report.renamed:
        print(f"renamed  {code}  {old} → {new}")
    print(
        f"{len(report.added)} added, {len(report.renamed)} renamed, "
        f"{report.unchanged} already present"
    )
    return 0


async def _user(db: Database, accounts: Accounts, args: argparse.Namespace) -> int:
    async with db.transaction() as session:
        if args.user_command == "add":
            user = await accounts.create_user(
                session,
                SYSTEM,
                username=args.username,
                password=_read_password(args),
                unit_code=args.unit,
                role=args.role,
                display_name=args.display_name,
            )
            print(f"created user {user.username} ({user.role}) in unit {user.unit_code}")
        elif args.user_command == "passwd":
            await accounts.set_password(session, SYSTEM, args.username, _read_password(args))
            print(f"password of {args.username} changed; its sessions were closed")
        else:
            disabled = args.user_command == "disable"
            await accounts.set_disabled(session, SYSTEM, args.username, disabled)
            print(f"user {args.username} {'disabled' if disabled else 'enabled'}")
    return 0


async def _token(db: Database, accounts: Accounts, args: argparse.Namespace) -> int:
    async with db.transaction() as session:
        if args.token_command == "create":
            new = await accounts.create_token(
                session, SYSTEM, name=args.name, unit_code=args.unit, role=args.role
            )
            print(
                f"machine account {new.token.name} (id {new.token.id}, {new.token.role}, "
                f"unit {new.token.unit_code}); the token is shown once:"
            )
            print(new.secret)
        else:
            token = await accounts.revoke_token(session, SYSTEM, args.id)
            print(f"token {token.name} revoked")
    return 0


async def _audit_verify(db: Database) -> int:
    async with db.transaction() as session:
        checked, broken = await verify_chain(session)
    if broken is None:
        print(f"audit chain intact: {checked} entries verified")
        return 0
    print(
        f"audit chain BROKEN at entry {broken.seq}: {broken.reason} "
        f"({checked} entries before it verified)"
    )
    return 1


def _tls_cert(args: argparse.Namespace, settings: Settings) -> int:
    names = list(args.name) or lan_names()
    folder = args.out or settings.storage.data_dir / "tls"
    cert_path, key_path = folder / "gateway.crt", folder / "gateway.key"
    if not args.force and (cert_path.exists() or key_path.exists()):
        print(f"error: {cert_path} or {key_path} exists; add --force to replace", file=sys.stderr)
        return 1
    cert, key = self_signed_certificate(names, days=args.days)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert)
    # The private key is readable by the gateway's user only.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    print(f"certificate for {', '.join(names)} (valid {args.days} days)")
    print(f"GATEWAY_HTTP_TLS_CERT={cert_path}")
    print(f"GATEWAY_HTTP_TLS_KEY={key_path}")
    return 0
