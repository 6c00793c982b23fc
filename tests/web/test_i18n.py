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


def test_every_error_code_has_chinese_words() -> None:
    """Pages show the API's ``localized`` text: every error code the product raises has
    its Chinese (English falls back to the error's own message)."""
    import re
    from pathlib import Path

    from web._i18n import translate

    root = Path(__file__).resolve().parents[2]
    packages = "core camera_registry sessions recordings cases meetings uplink web gateway"
    codes = {
        match.group(1)
        for package in packages.split()
        for path in (root / package).rglob("*.py")
        for match in re.finditer(r'^\s+code = "([a-z_]+)"', path.read_text(), re.M)
    }
    assert len(codes) > 40
    assert sorted(c for c in codes if not translate("zh-CN", f"error.{c}")) == []
