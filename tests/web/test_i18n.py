"""Every interface string in the templates has its Simplified Chinese text."""

from __future__ import annotations

import re
from pathlib import Path

from web import ZH

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
LITERAL = re.compile(r"""_\(\s*"([^"]+)"\s*\)""")


def test_template_strings_are_translated() -> None:
    missing = {
        (path.name, text)
        for path in TEMPLATES.glob("*.html")
        for text in LITERAL.findall(path.read_text(encoding="utf-8"))
        if text not in ZH
    }
    assert not missing, sorted(missing)


def test_role_level_and_room_names_are_translated() -> None:
    from core import Level, Role, RoomKind

    for value in [*Role, *Level, *RoomKind]:
        assert value.value in ZH, value
