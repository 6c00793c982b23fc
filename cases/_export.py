"""Export of a monthly ledger as table rows, CSV text and an XLSX workbook.

``ledger_rows`` is the single layout; CSV and XLSX only render it.  Building an XLSX is
CPU work of a few milliseconds per ledger; an async caller still runs :func:`ledger_xlsx`
in an executor, like any other encoding.  CSV text should be written as ``utf-8-sig`` so
that Excel recognises the Chinese labels.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from openpyxl import Workbook
from openpyxl.styles import Font

from cases._ledger import MonthlyLedger
from cases._types import Stage, label

__all__ = ["ledger_csv", "ledger_rows", "ledger_xlsx"]

_TEXT = {
    "title": ("社会矛盾纠纷排查化解综合台账", "Monthly dispute screening and resolution ledger"),
    "unit": ("单位", "Unit"),
    "month": ("月份", "Month"),
    "period": ("统计期间", "Period"),
    "to": ("至", "to"),
    "item": ("项目", "Item"),
    "count": ("数量", "Count"),
    "received": ("本期受理", "Received"),
    "open_at_start": ("上期结转", "Open at start"),
    "active": ("在办合计", "Active"),
    "closed": ("本期办结", "Closed"),
    "closed_here": ("本级办结", "Closed here"),
    "resolved_here": ("本级化解", "Resolved here"),
    "escalated_up": ("上报上级", "Reported up"),
    "escalations_received": ("接收下级上报", "Received from below"),
    "success_rate": ("化解成功率", "Success rate"),
    "open_at_end": ("期末未结", "Open at end"),
    "overdue": ("超期未结（超过{days}天）", "Overdue (over {days} days)"),
    "petitions": ("初信初访", "Initial petitions"),
    "type": ("纠纷类型", "Dispute type"),
    "channel": ("受理渠道", "Channel"),
    "stages": ("3221机制分布", "3221 stages"),
    "total": ("合计", "Total"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


Cell = str | int


def ledger_rows(
    ledger: MonthlyLedger, *, lang: str = "zh", unit_names: Mapping[str, str] | None = None
) -> list[list[str]]:
    """The ledger as rows of text cells, sections separated by an empty row."""
    return [[str(cell) for cell in row] for row in _layout(ledger, lang, unit_names or {})]


def _layout(ledger: MonthlyLedger, lang: str, names: Mapping[str, str]) -> list[list[Cell]]:
    """The one layout behind CSV and XLSX; counts stay ``int`` so XLSX stores numbers."""

    def unit(code: str) -> str:
        return f"{names[code]} ({code})" if code in names else code

    rate = "—" if ledger.success_rate is None else f"{ledger.success_rate:.1%}"
    period = f"{ledger.period.start.isoformat()} {_t('to', lang)} {ledger.period.end.isoformat()}"
    rows: list[list[Cell]] = [
        [_t("title", lang)],
        [_t("unit", lang), unit(ledger.unit)],
        [_t("month", lang), str(ledger.month)],
        [_t("period", lang), period],
        [],
        [_t("item", lang), _t("count", lang)],
    ]
    for key, value in (
        ("received", ledger.received),
        ("open_at_start", ledger.open_at_start),
        ("active", ledger.active),
        ("closed", ledger.closed),
        ("closed_here", ledger.closed_here),
        ("resolved_here", ledger.resolved_here),
        ("escalated_up", ledger.escalated_up),
        ("escalations_received", ledger.escalations_received),
        ("open_at_end", ledger.open_at_end),
        ("overdue", ledger.overdue),
        ("petitions", ledger.petitions),
    ):
        rows.append([_t(key, lang).format(days=ledger.overdue_days), value])
    rows.append([_t("success_rate", lang), rate])
    rows += [[], [_t("type", lang), _t("count", lang)]]
    rows += [[label(t, lang), n] for t, n in ledger.by_type.items()]
    rows += [[], [_t("channel", lang), _t("count", lang)]]
    rows += [[label(c, lang), n] for c, n in ledger.by_channel.items()]
    rows += [[], [_t("stages", lang)]]
    rows.append([_t("unit", lang), *(label(s, lang) for s in Stage), _t("total", lang)])
    for row in ledger.stages:
        rows.append([unit(row.unit), *(row.counts[s] for s in Stage), row.total])
    return rows


def ledger_csv(
    ledger: MonthlyLedger, *, lang: str = "zh", unit_names: Mapping[str, str] | None = None
) -> str:
    """The ledger as CSV text (``\\r\\n`` line ends, as RFC 4180 and Excel expect)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(ledger_rows(ledger, lang=lang, unit_names=unit_names))
    return buffer.getvalue()


def ledger_xlsx(
    ledger: MonthlyLedger, *, lang: str = "zh", unit_names: Mapping[str, str] | None = None
) -> bytes:
    """The ledger as an XLSX workbook (one sheet), numbers stored as numbers."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(ledger.month)
    for row in _layout(ledger, lang, unit_names or {}):
        sheet.append(row)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 32
    for letter in "BCDEF":
        sheet.column_dimensions[letter].width = 14
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
