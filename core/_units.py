"""Administrative levels and division codes (pure: no database, no asyncio).

Units carry the 12-digit administrative division code of GB/T 2260 / the statistical
division codes: ``431226000000`` is the county 麻阳苗族自治县, ``431226101000`` a township
in it, ``431226101201`` a village of that township.  The *scope prefix* of a unit is the
part of the code that its descendants share, so "does unit A contain unit B" is a prefix
test — the single question behind 一级一权限.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["Level", "contains", "level_of", "parent_code", "scope_prefix", "validate_code"]

_CODE = re.compile(r"^[0-9]{12}\Z")  # ASCII: \d takes Arabic-Indic digits


class Level(StrEnum):
    """The three levels of comprehensive governance centres."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        """0 for the county, 1 for a township, 2 for a village: lower ranks oversee higher."""
        return _RANK[self]

    def above(self) -> Level | None:
        """The level a case escalates to, or ``None`` at the county."""
        return {Level.VILLAGE: Level.TOWNSHIP, Level.TOWNSHIP: Level.COUNTY}.get(self)


_RANK = {Level.COUNTY: 0, Level.TOWNSHIP: 1, Level.VILLAGE: 2}
_PREFIX_LEN = {Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}


def validate_code(code: str) -> str:
    """Return ``code`` if it is a 12-digit division code, else raise ``ValueError``."""
    if not _CODE.match(code):
        raise ValueError(f"division code {code!r} must be 12 digits, e.g. 431226101000")
    return code


def level_of(code: str) -> Level:
    """The level a 12-digit division code denotes (county ``xxxxxx000000`` …)."""
    validate_code(code)
    if code[6:] == "000000":
        return Level.COUNTY
    if code[9:] == "000":
        return Level.TOWNSHIP
    return Level.VILLAGE


def scope_prefix(code: str) -> str:
    """The prefix shared by the unit and everything under it."""
    return code[: _PREFIX_LEN[level_of(code)]]


def contains(ancestor: str, descendant: str) -> bool:
    """True when ``descendant`` is ``ancestor`` or lies in its subtree."""
    return descendant.startswith(scope_prefix(ancestor))


def parent_code(code: str) -> str | None:
    """The code of the unit directly above, or ``None`` for a county."""
    level = level_of(code)
    if level is Level.COUNTY:
        return None
    if level is Level.TOWNSHIP:
        return code[:6] + "000000"
    return code[:9] + "000"
