"""Geometry of the ledger dashboard's charts, drawn as inline SVG by the templates (pure).

Server-side SVG needs no script and no style attribute (the CSP allows neither inline);
colours are SVG presentation attributes.  Every function returns plain numbers in a
fixed view box, so the templates only place shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Bar",
    "GroupedBars",
    "HBar",
    "count_axis",
    "fit_label",
    "grouped_bars",
    "hbars",
    "nice_max",
]

PALETTE = ("#b3261e", "#1456a0", "#1e7d32", "#b26a00", "#6a3d9a", "#00838f", "#8d6e63")


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def count_axis(value: int) -> tuple[int, int]:
    """(axis maximum, tick step) for counts: whole numbers only, at most five steps, the
    maximum at or above ``value`` (0 → 0..4 by 1)."""
    top = max(int(value), 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if -(-top // step) <= 5:
            return max(step * -(-top // step), 4 if step == 1 else step), step
    step = 10 ** len(str(top))
    return step, step // 5


def _text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` in pixels: CJK and full-width glyphs are square, the rest
    about six tenths of the font size (no font metrics on the server)."""
    return sum(size if ord(c) > 0x2E80 else 0.6 * size for c in text)


def fit_label(text: str, width: float = 124, size: float = 12) -> str:
    """``text`` shortened with "…" to fit ``width`` pixels, so labels never run into bars."""
    if _text_width(text, size) <= width:
        return text
    out = ""
    for c in text:
        if _text_width(out + c + "…", size) > width:
            break
        out += c
    return out + "…"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    colour: str


@dataclass(frozen=True, slots=True)
class GroupedBars:
    """Vertical bars, one group per label (e.g. received and closed per month)."""

    width: int
    height: int
    baseline: float
    axis_max: float
    labels: tuple[tuple[float, str], ...]
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]


def grouped_bars(
    labels: Sequence[str], series: Sequence[Sequence[int]], *, width: int = 640, height: int = 220
) -> GroupedBars:
    left, bottom, top = 36.0, 24.0, 10.0
    plot_h = height - bottom - top
    axis_max, step = count_axis(max((v for s in series for v in s), default=0))
    group_w = (width - left) / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    bars = []
    for g in range(len(labels)):
        for k, values in enumerate(series):
            h = plot_h * values[g] / axis_max
            x = left + g * group_w + group_w * 0.1 + k * bar_w
            bars.append(
                Bar(x, top + plot_h - h, bar_w - 1, h, values[g], PALETTE[k % len(PALETTE)])
            )
    ticks = tuple(
        (top + plot_h - plot_h * v / axis_max, str(v)) for v in range(0, axis_max + 1, step)
    )
    return GroupedBars(
        width,
        height,
        top + plot_h,
        axis_max,
        tuple((left + g * group_w + group_w / 2, label) for g, label in enumerate(labels)),
        tuple(bars),
        ticks,
    )


@dataclass(frozen=True, slots=True)
class HBar:
    """One horizontal bar: label, value, its share and its length in the view box."""

    y: float
    label: str
    value: int
    share: float
    length: float
    colour: str
    marker: float | None = None  # x of a reference line, e.g. the 10% limit


def hbars(
    items: Sequence[tuple[str, int]],
    *,
    total: int | None = None,
    length: float = 360,
    row: float = 26,
    centred: bool = False,
) -> tuple[HBar, ...]:
    """Bars proportional to the largest value; ``share`` of ``total`` (default: the sum).

    ``centred`` draws a funnel: each bar centred on the axis.
    """
    whole = total if total is not None else sum(v for _, v in items)
    biggest = max((v for _, v in items), default=0) or 1
    out = []
    for i, (label, value) in enumerate(items):
        size = length * value / biggest
        out.append(
            HBar(
                y=i * row,
                label=label,
                value=value,
                share=value / whole if whole else 0.0,
                length=size,
                colour=PALETTE[i % len(PALETTE)],
                marker=(length - size) / 2 if centred else None,
            )
        )
    return tuple(out)
