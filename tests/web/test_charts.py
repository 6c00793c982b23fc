"""Chart geometry: whole-number axes for counts, labels that fit their column."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from web._charts_cases import _text_width, count_axis, fit_label, grouped_bars


@given(st.integers(min_value=0, max_value=10**6))
def test_count_axes_have_whole_steps_and_hold_the_value(value: int) -> None:
    top, step = count_axis(value)
    assert isinstance(top, int) and isinstance(step, int) and step >= 1
    assert top >= value and top % step == 0
    assert 2 <= top // step <= 5


def test_small_counts_tick_by_one() -> None:
    chart = grouped_bars(["1月", "2月"], [[1, 0], [0, 1]])
    assert [text for _, text in chart.ticks] == ["0", "1", "2", "3", "4"]
    chart = grouped_bars(["1月"], [[7], [3]])
    assert [text for _, text in chart.ticks] == ["0", "2", "4", "6", "8"]


@given(st.text(min_size=0, max_size=40), st.integers(min_value=30, max_value=300))
def test_labels_fit_their_width(text: str, width: int) -> None:
    fitted = fit_label(text, width)
    if fitted == text:
        assert _text_width(text, 12) <= width
    else:
        assert fitted.endswith("…") and text.startswith(fitted[:-1])
        assert _text_width(fitted, 12) <= width or len(fitted) == 1


def test_long_names_are_shortened() -> None:
    assert fit_label("劳动争议/欠薪纠纷") == "劳动争议/欠薪纠纷"
    assert fit_label("Labour and unpaid wages").endswith("…")
    assert fit_label("麻阳苗族自治县和平溪乡综治中心").endswith("…")
