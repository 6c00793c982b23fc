"""A real deployment's first start, run as an operator would on an empty database:
``init`` (once only), ``units import`` (idempotent), then accounts and tokens in the tree."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core import AuditEntry, Database, Unit, User, verify_chain

pytestmark = pytest.mark.slow

COUNTY_FILE = """区划代码,名称
431226000000,麻阳苗族自治县综治中心
431226100000,高村镇综治中心
431226100201,高村镇陶伊村综治中心
431226203201,和平溪乡和平溪村综治中心
431226203000,和平溪乡综治中心
"""


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


async def _rows(url: str) -> tuple[dict[str, Unit], list[User], list[str]]:
    db = Database(url)
    try:
        async with db.read() as session:
            units = {u.code: u for u in await session.scalars(select(Unit))}
            users = list(await session.scalars(select(User)))
            actions = list(
                await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))
            )
            checked, broken = await verify_chain(session)
            assert broken is None and checked == len(actions)
        return units, users, actions
    finally:
        await db.close()


def test_init_then_import_then_accounts(tmp_path: Path, empty_database_url: str) -> None:
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_DATABASE_URL": empty_database_url,
        "GATEWAY_LOG_FORMAT": "text",
    }
    # Before init, a fresh database cannot take an account: there is no unit.
    init_args = ["init", "--unit", "431226000000", "--name", "麻阳苗族自治县综治中心"]
    weak = _run([*init_args, "--admin", "county.root", "--password-stdin"], env, "short\n")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
    done = _run([*init_args, "--admin", "County.Root"], env, "Camphor-river-2026\n")
    assert done.returncode == 0, done.stderr
    assert "麻阳苗族自治县综治中心 (431226000000, county)" in done.stdout

    again = _run([*init_args, "--admin", "other.root"], env, "Camphor-river-2026\n")
    assert again.returncode == 1 and "already initialised" in again.stderr

    units, users, actions = asyncio.run(_rows(empty_database_url))
    assert list(units) == ["431226000000"] and units["431226000000"].parent_code is None
    assert [(u.username, u.role, u.unit_code) for u in users] == [
        ("county.root", "admin", "431226000000")
    ]
    assert actions == ["user.create", "gateway.init"]

    # The organisation tree from the county's spreadsheet (UTF-8 with Excel's BOM).
    csv_file = tmp_path / "units.csv"
    csv_file.write_bytes(COUNTY_FILE.encode("utf-8-sig"))
    first = _run(["units", "import", str(csv_file)], env)
    assert first.returncode == 0, first.stderr
    assert "4 added, 0 renamed, 1 already present" in first.stdout
    second = _run(["units", "import", str(csv_file)], env)
    assert second.returncode == 0 and "0 added, 0 renamed, 5 already present" in second.stdout

    # The same file saved by a Chinese Excel (GB18030), one name changed: a rename only.
    csv_file.write_bytes(
        COUNTY_FILE.replace("高村镇陶伊村综治中心", "高村镇陶伊村社区综治中心").encode("gb18030")
    )
    renamed = _run(["units", "import", str(csv_file)], env)
    assert renamed.returncode == 0, renamed.stderr
    assert "高村镇陶伊村综治中心 → 高村镇陶伊村社区综治中心" in renamed.stdout
    assert "0 added, 1 renamed, 4 already present" in renamed.stdout

    # A bad file names every bad line and changes nothing.
    bad = tmp_path / "bad.csv"
    bad.write_text("431226203202,楠木桥村\n4312262032,短代码\n431227101000,邻县的乡\n")
    refused = _run(["units", "import", str(bad)], env)
    assert refused.returncode == 1
    assert "line 2" in refused.stderr and "12 digits" in refused.stderr
    bad.write_text("431226203202,楠木桥村\n431227101000,邻县的乡\n")
    refused = _run(["units", "import", str(bad)], env)
    assert refused.returncode == 1 and "line 2" in refused.stderr
    assert (
        "431227000000" in refused.stderr and "neither in the file nor installed" in refused.stderr
    )

    units, _users, actions = asyncio.run(_rows(empty_database_url))
    assert sorted(units) == [
        "431226000000",
        "431226100000",
        "431226100201",
        "431226203000",
        "431226203201",
    ]
    assert units["431226203201"].parent_code == "431226203000"
    assert units["431226100201"].parent_code == "431226100000"
    assert units["431226100201"].level == "village"
    assert units["431226100201"].name == "高村镇陶伊村社区综治中心"
    assert actions.count("unit.import") == 2  # the no-change import wrote nothing

    # Accounts and machine tokens in the imported tree.
    added = _run(
        [
            "user",
            "add",
            "--unit",
            "431226203201",
            "--role",
            "mediator",
            "--password-stdin",
            "hpxc.m",
        ],
        env,
        "bamboo-grove-77\n",
    )
    assert added.returncode == 0, added.stderr
    token = _run(["token", "create", "--unit", "431226203000", "--role", "operator", "uplink"], env)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().splitlines()[-1].startswith("zzg_")
    verified = _run(["audit", "verify"], env)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_init_refuses_the_demo_database(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE_URL": database_url}
    result = _run(
        ["init", "--unit", "431226000000", "--name", "县", "--admin", "x.admin"],
        env,
        "Camphor-river-2026\n",
    )
    assert result.returncode == 1 and "already initialised" in result.stderr
