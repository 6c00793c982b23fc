"""Validation and masking of what a party tells the window: ID number, phone, case number.

Every ``validate_*`` function returns the *normalised* value (what is stored, encrypted at
rest) or raises a precise :class:`~cases._errors.CaseError` whose message says what is wrong.
The ``mask_*`` functions produce what lists and logs show; they never fail and never leak
more than the fixed visible parts, even for malformed input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from cases._errors import InvalidCaseNumberError, InvalidIdNumberError, InvalidPhoneError
from core import validate_code

__all__ = [
    "CaseNumber",
    "birth_date_of",
    "format_case_number",
    "id_check_char",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "parse_case_number",
    "validate_id_number",
    "validate_phone",
]

# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_ID_SHAPE: Final = re.compile(r"^\d{17}[\dX]$")
# First two digits of GB/T 2260 codes, i.e. the province of registration.
# Grouped by the regions of GB/T 2260 (North, North-east, East, Central-South, South-west,
# North-west), then Taiwan, Hong Kong and Macao.
_PROVINCES: Final = frozenset(
    {*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)}
    | {*range(61, 66), 71, 81, 82}
)
_EARLIEST_BIRTH: Final = date(1900, 1, 1)

_MOBILE: Final = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010 and 02x have three digits, all others four; local numbers have 7 or 8
# digits and never start with 0 or 1 (those prefixes are trunk and service codes).
# An extension needs its own dash, otherwise it could not be told from the local number.
_LANDLINE: Final = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))-?([2-9]\d{6,7})(?:-(\d{1,6}))?$")
_PHONE_JUNK: Final = re.compile(r"[\s()（）]")

_CASE_NUMBER: Final = re.compile(r"^(\d{12})-(\d{4})-(\d{6})$")
_MAX_SEQUENCE: Final = 999_999


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (``0``–``9`` or ``X``) for 17 leading digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidIdNumberError(
            f"need the first 17 digits of an ID number to compute its check character, "
            f"got {len(first17)} characters"
        )
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the 18-character resident ID number in canonical form, or raise.

    Accepts surrounding spaces and a lower-case ``x``.  Checks the shape, the province
    part of the region code, a real birth date between 1900-01-01 and ``today`` and the
    GB 11643 check character.  15-digit first-generation numbers are refused: they
    expired in 2013 and carry no check character.
    """
    number = value.strip().upper()
    if not _ID_SHAPE.match(number):
        raise InvalidIdNumberError(
            "an ID number has 18 characters: 17 digits and a final digit or X "
            f"(got {len(number)} characters)",
            reason="length",
        )
    if int(number[:2]) not in _PROVINCES:
        raise InvalidIdNumberError(
            f"ID number starts with {number[:2]!r}, which is not a province code; "
            "check the first six digits (the region of registration)",
            reason="province",
        )
    birth = _birth_date(number)
    if birth is None:
        raise InvalidIdNumberError(
            f"digits 7-14 of the ID number ({number[6:14]}) are not a date of birth",
            reason="birth_date",
        )
    latest = today or date.today()
    if not _EARLIEST_BIRTH <= birth <= latest:
        raise InvalidIdNumberError(
            f"the date of birth in the ID number ({birth.isoformat()}) is not plausible; "
            "check digits 7-14",
            reason="birth_implausible",
        )
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdNumberError(
            "the ID number's check character does not match its digits; "
            "a digit was probably mistyped",
            reason="check_char",
        )
    return number


def birth_date_of(id_number: str) -> date:
    """The date of birth encoded in a valid ID number."""
    birth = _birth_date(validate_id_number(id_number, today=date.max))
    assert birth is not None  # validate_id_number has checked it
    return birth


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_phone(value: str) -> str:
    """Return a mobile (``13812345678``) or landline (``0745-7512345[-ext]``) number, or raise.

    Spaces, brackets and the separators ``-`` between the parts are accepted on input,
    as is a ``+86``/``86`` prefix on mobiles.  Landlines are stored as
    ``<area code>-<local number>`` with an optional ``-<extension>``.
    """
    compact = _PHONE_JUNK.sub("", value.strip())
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    digits_only = compact.replace("-", "")
    if _MOBILE.match(digits_only):
        return digits_only
    landline = _LANDLINE.match(compact)
    if landline is not None:
        area, local, ext = landline.groups()
        return f"{area}-{local}" + (f"-{ext}" if ext else "")
    raise InvalidPhoneError(
        f"{value!r} is not a phone number: use an 11-digit mobile number starting 13-19 "
        "or a landline with area code, e.g. 0745-7512345"
    )


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """A parsed case number: receiving unit, year of intake and sequence in that unit-year."""

    unit: str
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_case_number(self.unit, self.year, self.sequence)


def format_case_number(unit: str, year: int, sequence: int) -> str:
    """``<12-digit unit code>-<year>-<6-digit sequence>``, e.g. ``431226101201-2024-000042``.

    One sequence per receiving unit and calendar year (China time), starting at 1.  The
    unit code makes numbers unique across the county without coordination, the fixed width
    makes them sort in intake order, and the form is easy to read aloud on the phone.
    """
    try:
        validate_code(unit)
    except ValueError as exc:
        raise InvalidCaseNumberError(f"case number unit: {exc}") from None
    if not 2000 <= year <= 9999:
        raise InvalidCaseNumberError(f"case number year {year} must be between 2000 and 9999")
    if not 1 <= sequence <= _MAX_SEQUENCE:
        raise InvalidCaseNumberError(
            f"case number sequence {sequence} must be between 1 and {_MAX_SEQUENCE}"
        )
    return f"{unit}-{year:04d}-{sequence:06d}"


def parse_case_number(value: str) -> CaseNumber:
    """Parse ``431226101201-2024-000042``; raise :class:`InvalidCaseNumberError` otherwise."""
    match = _CASE_NUMBER.match(value.strip())
    if match is None:
        raise InvalidCaseNumberError(
            f"{value!r} is not a case number; expected <12-digit unit code>-<year>-<6 digits>, "
            "e.g. 431226101201-2024-000042"
        )
    unit, year, sequence = match.group(1), int(match.group(2)), int(match.group(3))
    format_case_number(unit, year, sequence)  # range checks, same messages
    return CaseNumber(unit, year, sequence)


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``张小三`` → ``张*三``, ``欧阳小华`` → ``欧**华``."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str) -> str:
    """``431226199001011234`` → ``4312**********1234``; anything else is fully masked."""
    value = id_number.strip()
    if len(value) != 18:
        return "*" * 18
    return value[:4] + "*" * 10 + value[-4:]


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; ``0745-7512345`` → ``0745-***2345``."""
    value = phone.strip()
    if _MOBILE.match(value):
        return value[:3] + "****" + value[-4:]
    area, dash, rest = value.partition("-")
    local = rest.split("-", 1)[0]
    if dash and area.isdigit() and local.isdigit() and len(local) >= 7:
        return f"{area}-" + "*" * (len(local) - 4) + local[-4:]
    return "*" * len(value)
