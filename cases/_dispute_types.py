"""The configurable list of dispute types and how each one maps to a ledger column.

The monthly ledger has ten fixed *columns*, :class:`cases._types.DisputeType`, the same in
every unit and month so that totals add up across the county and stay comparable over the
years.  What a centre picks at intake is a *configured type*: the ten standard types (whose
keys equal their columns) plus local ones a county adds, each mapped to one standard column
(by default ``other``).  A case stores its configured key; the ledger counts it under its
type's column, so every cross-check between columns still holds.

Rules (pure, no database):

* keys are lowercase ASCII identifiers of at most 20 characters and are never reused;
* a type is deactivated, never deleted: old cases keep their key, and it still counts;
* a type's ledger column is fixed when it is created: changing it would move past cases
  to another column, so live ledgers would disagree with the months already submitted;
* intake accepts only active types; filters accept every configured one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cases._errors import InvalidCaseInputError, UnknownChoiceError
from cases._types import DisputeType, label

__all__ = [
    "STANDARD_TYPES",
    "DisputeTypeCatalogue",
    "DisputeTypeDef",
    "validate_type_key",
    "validate_type_label",
]

_KEY = re.compile(r"[a-z][a-z0-9_]{1,19}")
_LABEL_MAX = 50


@dataclass(frozen=True, slots=True)
class DisputeTypeDef:
    """One configured dispute type."""

    key: str
    label_zh: str
    label_en: str
    ledger_column: DisputeType
    active: bool = True
    position: int = 0

    def label(self, lang: str = "zh") -> str:
        """The UI label: ``"zh"`` (default) or ``"en"`` (falls back to zh when not given)."""
        return (self.label_en or self.label_zh) if lang == "en" else self.label_zh

    @property
    def standard(self) -> bool:
        """True for the ten types seeded by the migration (key == ledger column)."""
        return self.key == self.ledger_column.value


#: The ten standard types, as the migration seeds them (positions leave room in between).
STANDARD_TYPES: tuple[DisputeTypeDef, ...] = tuple(
    DisputeTypeDef(t.value, label(t, "zh"), label(t, "en"), t, True, 10 * (i + 1))
    for i, t in enumerate(DisputeType)
)


def validate_type_key(key: str) -> str:
    """A new type's key, or :class:`InvalidCaseInputError` saying what a key looks like."""
    text = key.strip()
    if not _KEY.fullmatch(text):
        raise InvalidCaseInputError(
            f"dispute type key {key!r} is malformed; use 2 to 20 lowercase letters, digits "
            "or underscores, starting with a letter (e.g. 'tea_garden')"
        )
    return text


def validate_type_label(text: str, field: str, *, required: bool = True) -> str:
    """A label stripped of surrounding space, at most 50 characters; empty only if optional."""
    value = text.strip()
    if required and not value:
        raise InvalidCaseInputError(f"{field} is required")
    if len(value) > _LABEL_MAX:
        raise InvalidCaseInputError(f"{field} is longer than {_LABEL_MAX} characters")
    return value


@dataclass(frozen=True, slots=True)
class DisputeTypeCatalogue:
    """The configured types at one moment, in display order."""

    types: tuple[DisputeTypeDef, ...]

    @classmethod
    def of(cls, types: Iterable[DisputeTypeDef]) -> DisputeTypeCatalogue:
        return cls(tuple(sorted(types, key=lambda t: (t.position, t.key))))

    @property
    def active(self) -> tuple[DisputeTypeDef, ...]:
        return tuple(t for t in self.types if t.active)

    def get(self, key: str) -> DisputeTypeDef | None:
        return next((t for t in self.types if t.key == key), None)

    def for_intake(self, key: str) -> DisputeTypeDef:
        """The active type ``key``, or :class:`UnknownChoiceError` listing the active keys."""
        found = self.get(key.strip())
        if found is None or not found.active:
            raise UnknownChoiceError("dispute_type", key, [t.key for t in self.active])
        return found

    def for_filter(self, key: str) -> DisputeTypeDef:
        """Any configured type ``key`` (old cases keep inactive ones), or the keys allowed."""
        found = self.get(key.strip())
        if found is None:
            raise UnknownChoiceError("dispute_type", key, [t.key for t in self.types])
        return found

    def label(self, key: str, lang: str = "zh") -> str:
        found = self.get(key)
        return found.label(lang) if found else key
