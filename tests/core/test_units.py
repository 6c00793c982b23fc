from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import Level, contains, level_of, parent_code, scope_prefix, validate_code

COUNTY, TOWNSHIP, VILLAGE = "431226000000", "431226203000", "431226203201"


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        (COUNTY, Level.COUNTY, None),
        (TOWNSHIP, Level.TOWNSHIP, COUNTY),
        (VILLAGE, Level.VILLAGE, TOWNSHIP),
    ],
)
def test_levels_and_parents(code: str, level: Level, parent: str | None) -> None:
    assert level_of(code) is level
    assert parent_code(code) == parent


@pytest.mark.parametrize("bad", ["43122", "4312260000001", "43122600000a", ""])
def test_malformed_codes_are_refused_with_an_example(bad: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        validate_code(bad)


def test_containment_follows_the_tree() -> None:
    assert contains(COUNTY, VILLAGE) and contains(TOWNSHIP, VILLAGE) and contains(VILLAGE, VILLAGE)
    assert not contains(VILLAGE, TOWNSHIP)
    assert not contains(TOWNSHIP, "431226100201")  # another township's village
    assert not contains(VILLAGE, "431226203202")  # a sibling village
    assert not contains(COUNTY, "431227000000")  # another county


codes = st.from_regex(r"\A[0-9]{12}\Z", fullmatch=True)  # division codes are ASCII


@given(codes, codes)
def test_containment_is_the_ancestor_relation(a: str, b: str) -> None:
    # contains(a, b) ⇔ a is b or an ancestor of b (walking b's parents reaches a's prefix).
    chain = [b]
    while (up := parent_code(chain[-1])) is not None:
        chain.append(up)
    ancestors = {scope_prefix(c) for c in chain}
    assert contains(a, b) == (scope_prefix(a) in ancestors and b.startswith(scope_prefix(a)))
