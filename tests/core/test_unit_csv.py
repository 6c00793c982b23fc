"""The unit file parser: encodings, header, short codes, every bad line named, parents first."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import UnitCsvError, decode_units_csv, parse_units_csv
from core._unit_csv import order_for_import


def test_header_bom_short_codes_and_optional_columns() -> None:
    text = decode_units_csv(
        "区划代码,名称,地址,电话\n431226,麻阳县\n431226203,和平溪乡,乡政府院内,0745-1\n".encode(
            "utf-8-sig"
        )
    )
    rows = parse_units_csv(text)
    assert [(r.code, r.name, r.address, r.phone) for r in rows] == [
        ("431226000000", "麻阳县", "", ""),
        ("431226203000", "和平溪乡", "乡政府院内", "0745-1"),
    ]
    assert rows[1].parent == "431226000000"


def test_gb18030_and_semicolons() -> None:
    data = "431226203201;和平溪村\n431226203202;楠木桥村\n".encode("gb18030")
    assert [r.name for r in parse_units_csv(decode_units_csv(data))] == ["和平溪村", "楠木桥村"]


def test_every_bad_line_is_named() -> None:
    with pytest.raises(UnitCsvError) as caught:
        parse_units_csv("431226203201,a\n12345,b\n431226203201,c\n431226203203\n\n")
    assert [line for line, _ in caught.value.problems] == [2, 3, 4]
    assert "also on line 1" in str(caught.value)


def test_binary_is_refused() -> None:
    with pytest.raises(UnitCsvError):
        decode_units_csv(b"\xff\xfe\x00\x81\x30\x81")


def test_parents_first_and_missing_parents_named() -> None:
    rows = parse_units_csv("431226203201,村\n431226203000,乡\n431226100201,另一村\n")
    with pytest.raises(UnitCsvError) as caught:
        order_for_import(rows, {"431226000000"})
    assert caught.value.problems == [
        (3, "431226100201's parent 431226100000 is neither in the file nor installed")
    ]
    ordered = order_for_import(rows[:2], {"431226000000"})
    assert [r.code for r in ordered] == ["431226203000", "431226203201"]


codes = st.from_regex(r"4312262[0-9]{2}(000|2[0-9]{2})", fullmatch=True)
names = st.text(st.characters(categories=["Lo", "Nd"]), min_size=1, max_size=20)


@given(st.dictionaries(codes, names, max_size=30))
def test_round_trip(units: dict[str, str]) -> None:
    text = "".join(f"{code},{name}\r\n" for code, name in units.items())
    rows = parse_units_csv(text)
    assert {r.code: r.name for r in rows} == units
    installed = {r.parent for r in rows if r.parent is not None} - set(units)
    ordered = order_for_import(rows, installed)
    for index, row in enumerate(ordered):  # every parent comes before its children
        earlier = {r.code for r in ordered[:index]}
        assert row.parent is None or row.parent in earlier or row.parent not in units


@given(st.text(max_size=300))
def test_any_text_parses_or_names_its_problems(text: str) -> None:
    try:
        rows = parse_units_csv(text)
    except UnitCsvError as exc:
        assert exc.problems
    else:
        assert all(len(r.code) == 12 and r.name for r in rows)
