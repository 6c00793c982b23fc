"""CSV and XLSX export of the seeded ledger."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from cases._export import ledger_csv, ledger_rows, ledger_xlsx
from cases._ledger import MonthlyLedger, compute_ledger
from tests.cases.helpers import TOWNSHIP, VILLAGE_A, VILLAGE_B
from tests.cases.test_ledger import MAY, SEEDED

NAMES = {TOWNSHIP: "××乡综治中心", VILLAGE_A: "××乡××村综治中心"}


def _ledger() -> MonthlyLedger:
    return compute_ledger(TOWNSHIP, MAY, SEEDED, child_units=[VILLAGE_A, VILLAGE_B])


def test_rows_carry_the_numbers_and_labels() -> None:
    rows = ledger_rows(_ledger(), unit_names=NAMES)
    table = {row[0]: row[1:] for row in rows if row}
    assert rows[0] == ["社会矛盾纠纷排查化解综合台账"]
    assert rows[1] == ["单位", f"××乡综治中心 ({TOWNSHIP})"]
    assert table["统计期间"] == ["2024-04-26 至 2024-05-25"]
    assert table["本期受理"] == ["7"] and table["化解成功率"] == ["40.0%"]
    assert table["超期未结（超过30天）"] == ["3"]
    assert table["邻里纠纷"] == ["2"] and table["网格员上报"] == ["2"]
    assert table[f"××乡××村综治中心 ({VILLAGE_A})"] == ["4", "1", "0", "0", "5"]
    assert table[VILLAGE_B] == ["2", "0", "1", "1", "4"]
    english = ledger_rows(_ledger(), lang="en")
    assert ["Received", "7"] in english
    assert ["Unit", *(f"{s} mediation" for s in ("Village", "Township", "County")),
            "County leader in charge", "Total"] in english  # fmt: skip


def test_csv_parses_back_to_the_rows() -> None:
    ledger = _ledger()
    text = ledger_csv(ledger)
    assert "\r\n" in text
    assert list(csv.reader(io.StringIO(text))) == ledger_rows(ledger)


def test_xlsx_stores_numbers() -> None:
    book = load_workbook(io.BytesIO(ledger_xlsx(_ledger(), lang="en")))
    sheet = book.active
    assert sheet is not None and sheet.title == "2024-05"
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0]]
    assert rows[1][:2] == ("Unit", TOWNSHIP)  # a division code stays text
    values = {row[0]: row[1] for row in rows}
    assert values["Received"] == 7
    assert values["Success rate"] == "40.0%"
    assert rows[-1][:6] == (VILLAGE_B, 2, 0, 1, 1, 4)
