"""The organisation tree as a CSV file of division codes and names (pure: no database).

Counties publish their units as spreadsheets; saved as CSV they come in UTF-8 (often with
Excel's byte-order mark) or in GB18030/GBK, with or without a header row, sometimes with
the short codes of a county (6 digits) or a township (9 digits).  ``parse_units_csv`` takes
all of these and answers either every row or every problem, with its line number, so that
an import writes all of a file or nothing of it.

Format: one unit per line, ``code,name`` and optionally ``,address,phone``.  Parents are
not written in the file: they follow from the code (``431226203201`` lies under
``431226203000``, which lies under ``431226000000``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ._units import level_of, parent_code, validate_code

__all__ = ["UnitCsvError", "UnitRow", "decode_units_csv", "order_for_import", "parse_units_csv"]

MAX_ROWS = 20_000  # a province has fewer villages than this in one county file
_HEADER_WORDS = {"code", "division code", "区划代码", "代码", "统计用区划代码", "编码"}


class UnitCsvError(ValueError):
    """The file has problems; ``problems`` lists each as ``(line, message)``."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {line}: {text}" for line, text in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"the unit file has {len(problems)} problem(s): {shown}{more}")


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    address: str = ""
    phone: str = ""

    @property
    def parent(self) -> str | None:
        return parent_code(self.code)


def decode_units_csv(data: bytes) -> str:
    """UTF-8 (with or without a BOM) first, then GB18030 (a superset of GBK and GB2312)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnitCsvError([(0, "the file is neither UTF-8 nor GB18030 text")]) from None


def _full_code(raw: str) -> str:
    code = raw.strip().replace(" ", "")
    if code.isdigit() and len(code) == 6:
        return code + "000000"
    if code.isdigit() and len(code) == 9:
        return code + "000"
    return code


def parse_units_csv(text: str) -> list[UnitRow]:
    """Every unit of the file, or :class:`UnitCsvError` naming every bad line."""
    rows: list[UnitRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in (",", "\t", ";") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        lines = list(enumerate(reader, start=1))
    except csv.Error as exc:
        raise UnitCsvError([(reader.line_num, f"not a CSV file: {exc}")]) from None
    for index, fields in lines:
        cells = [cell.strip() for cell in fields]
        if not any(cells):
            continue
        if index == 1 and cells[0].lower() in _HEADER_WORDS:
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append((index, f"more than {MAX_ROWS} units in one file"))
            break
        if len(cells) < 2 or not cells[1]:
            problems.append((index, "expected 'code,name'"))
            continue
        code = _full_code(cells[0])
        try:
            validate_code(code)
        except ValueError as exc:
            problems.append((index, str(exc)))
            continue
        if len(cells[1]) > 200:
            problems.append((index, "the name is longer than 200 characters"))
            continue
        if code in seen:
            problems.append((index, f"{code} is also on line {seen[code]}"))
            continue
        seen[code] = index
        address = cells[2] if len(cells) > 2 else ""
        phone = cells[3] if len(cells) > 3 else ""
        if len(address) > 300 or len(phone) > 40:
            problems.append((index, "the address or phone is too long"))
            continue
        rows.append(UnitRow(index, code, cells[1], address, phone))
    if problems:
        raise UnitCsvError(problems)
    return rows


def order_for_import(rows: list[UnitRow], existing: set[str]) -> list[UnitRow]:
    """Parents before children; every parent must be in the file or already exist.

    Raises :class:`UnitCsvError` for rows whose parent is neither.
    """
    in_file = {row.code for row in rows}
    problems: list[tuple[int, str]] = []
    for row in rows:
        parent = row.parent
        if parent is not None and parent not in in_file and parent not in existing:
            problems.append(
                (row.line, f"{row.code}'s parent {parent} is neither in the file nor installed")
            )
    if problems:
        raise UnitCsvError(problems)
    return sorted(rows, key=lambda row: (level_of(row.code).rank, row.code))
