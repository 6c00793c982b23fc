"""ID numbers, phones, case numbers, masking, vocabularies and status transitions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases._errors import (
    InvalidCaseNumberError,
    InvalidIdNumberError,
    InvalidPhoneError,
    ReopenReasonRequired,
    StatusTransitionNotAllowed,
    UnknownChoiceError,
)
from cases._status import check_reopen, check_transition
from cases._types import CaseStatus, Channel, DisputeType, Outcome, label, parse_choice
from cases._validation import (
    CaseNumber,
    birth_date_of,
    format_case_number,
    id_check_char,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_case_number,
    validate_id_number,
    validate_phone,
)
from core.errors import InvalidInputError

TODAY = date(2024, 6, 1)

# Check characters computed by hand with the GB 11643 weights (7 9 10 5 8 4 2 1 6 3 7 9 10
# 5 8 4 2, sum mod 11 → "10X98765432"):
#   43122619900101123: 28+27+10+10+16+24+2+9+54+0+0+9+0+5+8+8+6 = 216; 216 mod 11 = 7 → "5"
# and the two worked examples printed in GB 11643-1999 itself (the second was born in 1880,
# so its checksum is right but its birth date is not plausible for a living party).
VALID = ["431226199001011235", "11010519491231002X"]


@pytest.mark.parametrize("number", VALID)
def test_valid_id_numbers(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number
    assert id_check_char(number[:17]) == number[17]


def test_standard_example_from_1880() -> None:
    assert id_check_char("44052418800101001") == "4"
    with pytest.raises(InvalidIdNumberError, match=r"1880-01-01.*not plausible"):
        validate_id_number("440524188001010014", today=TODAY)


def test_id_number_is_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ", today=TODAY) == "11010519491231002X"
    assert birth_date_of("431226199001011235") == date(1990, 1, 1)


@pytest.mark.parametrize(
    ("number", "match"),
    [
        pytest.param("431226199001011234", "check character", id="checksum"),
        pytest.param("43122619900101123", "18 characters", id="short"),
        pytest.param("4312261990010112X5", "18 characters", id="x-inside"),
        pytest.param("431226900101123", "18 characters", id="15-digit"),
        pytest.param("991226199001011235", "province", id="province"),
        pytest.param("431226199002301234", "not a date", id="feb-30"),
        pytest.param("431226189901011234", "not plausible", id="before-1900"),
        pytest.param("431226202501011234", "not plausible", id="future"),
    ],
)
def test_invalid_id_numbers(number: str, match: str) -> None:
    with pytest.raises(InvalidIdNumberError, match=match):
        validate_id_number(number, today=TODAY)


@given(st.from_regex(r"\A(11|43|65)\d{4}(19[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])\d{3}\Z"))
def test_every_single_digit_change_breaks_the_checksum(first17: str) -> None:
    """MOD 11-2 catches every single-character error: the property users rely on."""
    number = first17 + id_check_char(first17)
    assert validate_id_number(number, today=TODAY) == number
    for i in range(14, 17):  # the sequence digits: still a plausible number otherwise
        changed = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        with pytest.raises(InvalidIdNumberError, match="check character"):
            validate_id_number(changed, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("8619912345678", "19912345678"),
        ("0745-7512345", "0745-7512345"),
        ("07457512345", "0745-7512345"),
        ("(0745)75123456", "0745-75123456"),
        ("010-62345678", "010-62345678"),
        ("010-62345678-801", "010-62345678-801"),
        ("（020）8765 4321", "020-87654321"),
    ],
)
def test_valid_phones(raw: str, stored: str) -> None:
    assert validate_phone(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["12812345678", "1381234567", "138123456789", "0745-1512345", "0745-751234", "12345", ""],
)
def test_invalid_phones(raw: str) -> None:
    with pytest.raises(InvalidPhoneError, match="not a phone number"):
        validate_phone(raw)


def test_case_numbers() -> None:
    number = format_case_number("431226101201", 2024, 42)
    assert number == "431226101201-2024-000042"
    assert parse_case_number(number) == CaseNumber("431226101201", 2024, 42)
    assert str(parse_case_number(number)) == number
    assert format_case_number("431226101201", 2024, 9) < format_case_number(
        "431226101201", 2024, 10
    )


@pytest.mark.parametrize(
    "bad",
    ["431226101201-2024-42", "43122610120-2024-000042", "431226101201-24-000042", "x", ""],
)
def test_bad_case_numbers(bad: str) -> None:
    with pytest.raises(InvalidCaseNumberError, match="expected"):
        parse_case_number(bad)


@pytest.mark.parametrize(
    ("unit", "year", "seq", "match"),
    [
        ("4312261012", 2024, 1, "12 digits"),
        ("431226101201", 1999, 1, "year"),
        ("431226101201", 2024, 0, "sequence"),
    ],
)
def test_case_number_ranges(unit: str, year: int, seq: int, match: str) -> None:
    with pytest.raises(InvalidCaseNumberError, match=match):
        format_case_number(unit, year, seq)
    with pytest.raises(InvalidCaseNumberError):
        parse_case_number("431226101201-2024-000000")


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张", "*"), ("张三", "张*"), ("张小三", "张*三"), ("欧阳小华", "欧**华"), ("", "")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_id_and_phone() -> None:
    assert mask_id_number("43122619900101123X") == "4312**********123X"
    assert mask_id_number("4312") == "*" * 18
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0745-7512345") == "0745-***2345"
    assert mask_phone("010-62345678-801") == "010-****5678"
    assert mask_phone("garbage") == "*******"


@given(st.from_regex(r"\A1[3-9]\d{9}\Z"))
def test_masked_phone_hides_the_middle(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked[3:7] == "****" and len(masked) == 11 and phone[3:7] not in masked[:7]


def test_vocabularies() -> None:
    assert len(DisputeType) == 10 and label(DisputeType.LAND_FOREST) == "山林土地纠纷"
    assert label(Channel.GRID_WORKER, "en") == "Grid worker"
    assert label(CaseStatus.LEADER_IN_CHARGE) == "县领导包案"
    assert not Outcome.PARTLY.resolved and Outcome.RESOLVED_JUDICIAL.resolved
    assert parse_choice(DisputeType, "traffic", field="dispute_type") is DisputeType.TRAFFIC
    with pytest.raises(UnknownChoiceError, match="unknown dispute_type 'weather'") as info:
        parse_choice(DisputeType, "weather", field="dispute_type")
    assert info.value.code == "unknown_dispute_type" and "neighbourhood" in info.value.message
    assert isinstance(info.value, InvalidInputError)


def test_status_transitions() -> None:
    check_transition(CaseStatus.RECEIVED, CaseStatus.IN_MEDIATION)
    check_transition(CaseStatus.ESCALATED, CaseStatus.LEADER_IN_CHARGE)
    with pytest.raises(StatusTransitionNotAllowed, match="reopen it first"):
        check_transition(CaseStatus.CLOSED, CaseStatus.IN_MEDIATION)
    with pytest.raises(StatusTransitionNotAllowed):
        check_transition(CaseStatus.LEADER_IN_CHARGE, CaseStatus.ESCALATED)
    assert (
        check_reopen(CaseStatus.CLOSED, "  协议未履行，再次申请调解 ") == "协议未履行，再次申请调解"
    )
    with pytest.raises(ReopenReasonRequired):
        check_reopen(CaseStatus.CLOSED, " 再调 ")
    with pytest.raises(StatusTransitionNotAllowed):
        check_reopen(CaseStatus.IN_MEDIATION, "协议未履行，再次申请调解")
