"""CLI of recordings: ``recordings verify ID|PATH``, ``recordings reindex``,
``recordings public-key`` and ``evidence verify PACKAGE``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from core import Database, Settings, check_schema
from recordings import (
    SigningKey,
    load_public_key,
    recording_dir,
    reindex,
    valid_recording_id,
    verify_package,
    verify_recording,
)

__all__ = ["add_parsers", "dispatch"]


def add_parsers(sub: Any) -> None:
    rec = sub.add_parser("recordings", help="tamper-evident recordings").add_subparsers(
        dest="recordings_command", required=True
    )
    verify = rec.add_parser(
        "verify", help="re-hash a recording, check its chain and signature; names a bad segment"
    )
    verify.add_argument("target", help="recording id (rec-…) or the recording's directory")
    verify.add_argument("--public-key", type=Path, help="PEM file (default: this gateway's key)")
    rec.add_parser(
        "reindex",
        help="rebuild the database index from files and manifests (salvages crashed "
        "recordings; run it with the gateway stopped)",
    )
    rec.add_parser("public-key", help="print the recording-signing public key (PEM)")
    evidence = sub.add_parser("evidence", help="evidence packages").add_subparsers(
        dest="evidence_command", required=True
    )
    check = evidence.add_parser("verify", help="verify an evidence package (zip)")
    check.add_argument("package", type=Path)
    check.add_argument("--key-id", help="the signing key fingerprint you trust")


def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run the command if it is one of ours; None otherwise."""
    data = settings.storage.data_dir
    if args.command == "evidence":
        package = verify_package(args.package, args.key_id)
        print(package.summary())
        return 0 if package.ok else 1
    if args.command != "recordings":
        return None
    key = SigningKey.load_or_create(data)
    if args.recordings_command == "public-key":
        print(key.public_pem().decode(), end="")
        print(f"key id {key.key_id}")
        return 0
    if args.recordings_command == "verify":
        public = load_public_key(args.public_key.read_bytes()) if args.public_key else key.public
        target = str(args.target)
        directory = (
            recording_dir(data / "recordings", target)
            if valid_recording_id(target)
            else Path(target)
        )
        report = verify_recording(directory, public)
        print(report.summary())
        return 0 if report.ok else 1
    return asyncio.run(_reindex(settings, key))


async def _reindex(settings: Settings, key: SigningKey) -> int:
    db = Database(settings.database_url)
    try:
        await check_schema(db)
        report = await reindex(db, settings.storage.data_dir / "recordings", key)
    finally:
        await db.close()
    print(report.summary())
    return 0 if not report.unreadable else 1
