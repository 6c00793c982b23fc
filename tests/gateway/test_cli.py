"""The command line, run as an operator would: separate processes on a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_operator_workflow(tmp_path: Path, database_url: str) -> None:
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_LOG_FORMAT": "text",
    }
    assert _run(["migrate"], env).returncode == 0

    added = _run(
        [
            "user",
            "add",
            "--unit",
            "431226203202",
            "--role",
            "mediator",
            "--password-stdin",
            "nmq.mediator",
        ],
        env,
        stdin="bamboo-grove-77\n",
    )
    assert added.returncode == 0, added.stderr
    weak = _run(
        [
            "user",
            "add",
            "--unit",
            "431226203202",
            "--role",
            "mediator",
            "--password",
            "short",
            "nmq.other",
        ],
        env,
    )
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr

    created = _run(
        ["token", "create", "--unit", "431226203000", "--role", "operator", "uplink-1"], env
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("zzg_") and " " not in token

    assert _run(["user", "disable", "nmq.mediator"], env).returncode == 0
    verified = _run(["audit", "verify"], env)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_audit_verify_reports_the_first_broken_link(tmp_path: Path, database_url: str) -> None:
    import asyncio

    from sqlalchemy import update

    from core import AuditEntry, Database

    async def tamper() -> None:
        db = Database(database_url)
        async with db.transaction() as session:
            await session.execute(
                update(AuditEntry).where(AuditEntry.seq == 4).values(action="user.nothing")
            )
        await db.close()

    asyncio.run(tamper())
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE_URL": database_url}
    result = _run(["audit", "verify"], env)
    assert result.returncode == 1 and "BROKEN at entry 4" in result.stdout


def test_unknown_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_HTTP_PROT": "1"}
    result = _run(["migrate"], env)
    assert result.returncode == 2 and "unknown setting http.prot" in result.stderr
