"""The import graph keeps the floors of ../shared/DESIGN.md.

A package imports only packages on lower floors (or its own), never another package's
private module (``pkg._x``), and the media toolkit imports nothing of the product and
nothing that does I/O or runs an event loop.  The simulator is an independent oracle:
it imports nothing of the product either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {
    "core": 1,
    "media": 1,
    "camera_registry": 2,
    "cases": 2,
    "recordings": 3,
    "sessions": 4,
    "uplink": 4,
    "meetings": 5,
    "web": 6,
    "gateway": 7,
}
PRODUCT = set(FLOORS) | {"simulator"}
# What the pure toolkit must never reach for: an event loop, sockets, threads, a database.
MEDIA_FORBIDDEN = {
    "asyncio",
    "aiohttp",
    "aiortc",
    "sqlalchemy",
    "socket",
    "selectors",
    "threading",
    "subprocess",
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # "from pkg import _private" reaches in just the same
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if alias.name.startswith("_") and node.module.split(".")[0] in PRODUCT
            ]
    return found


def _allowed(package: str, target: str) -> bool:
    if package == "simulator":
        return target == "simulator"
    if package == "media":
        return target == "media"
    if package == "cases" and target == "media":
        return False  # cases never touches media code
    return target == package or FLOORS.get(target, 99) < FLOORS[package]


def violations() -> list[str]:
    found: list[str] = []
    for package in sorted(PRODUCT):
        directory = ROOT / package
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.py")):
            if "migrations" in path.parts:
                continue  # revisions are data, not imports
            where = path.relative_to(ROOT)
            for line, name in _imports(path):
                head, *rest = name.split(".")
                if package == "media" and head in MEDIA_FORBIDDEN:
                    found.append(f"{where}:{line} media imports {name} (the toolkit does no I/O)")
                if head not in PRODUCT:
                    continue
                if not _allowed(package, head):
                    found.append(f"{where}:{line} {package} imports {name} (floor rule)")
                elif head != package and any(part.startswith("_") for part in rest):
                    found.append(f"{where}:{line} reaches into a private module: {name}")
    return found


def test_no_upward_or_private_imports_across_packages() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("package", "source", "message"),
    [
        ("media", "import asyncio\n", "does no I/O"),
        ("media", "from core import Database\n", "floor rule"),
        ("camera_registry", "from sessions import LiveSessions\n", "floor rule"),
        ("recordings", "from camera_registry._hub import StreamHub\n", "private module"),
        ("web", "from cases import _inputs\n", "private module"),
        ("cases", "from media import MediaFrame\n", "floor rule"),
        ("simulator", "from media import parse_rtp\n", "floor rule"),
    ],
)
def test_the_check_catches_each_kind(
    package: str, source: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "_probe.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (problem,) = violations()
    assert message in problem
