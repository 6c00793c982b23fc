"""Refusals in words the person at the form reads: Chinese by default, naming the party.

A refused intake says who and what, e.g. "申请人张华：身份证号校验位不正确"; any other refusal
shows the translation of its error code, or the service's own message in English mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cases import InvalidIdNumberError, InvalidPhoneError, PartyFault
from core import GatewayError

from ._i18n import translate

__all__ = ["error_text", "party_fault_text", "recording_note_text"]

_ROLE_ZH = {"applicant": "申请人", "respondent": "被申请人", "other": "其他当事人"}
_ROLE_EN = {"applicant": "Applicant", "respondent": "Respondent", "other": "Other party"}

#: What is wrong with an ID number, by :attr:`InvalidIdNumberError.reason`.
_ID_ZH = {
    "length": "身份证号应为18位（17位数字加末位数字或X）",
    "province": "身份证号前两位不是省级行政区划代码，请核对前六位",
    "birth_date": "身份证号第7至14位不是有效的出生日期",
    "birth_implausible": "身份证号中的出生日期不合理，请核对第7至14位",
    "check_char": "身份证号校验位不正确，可能有数字输错",
}
_FIELD_ZH = {
    "name": "姓名不能为空，且不超过50个字",
    "role": "当事人身份只能是申请人、被申请人或其他当事人",
    "phone": "联系电话不正确：请填写以13至19开头的11位手机号，或带区号的固定电话（如0745-7512345）",
}


def error_text(lang: str, error: GatewayError) -> str:
    """The refusal in ``lang``: the translation of its code, else its own message."""
    return translate(lang, f"error.{error.code}") or error.message


def party_fault_text(lang: str, error: GatewayError, fault: PartyFault) -> str:
    """ "申请人张华：身份证号校验位不正确" — the party by role and name, then what is wrong."""
    if lang != "zh-CN":
        who = _ROLE_EN.get(fault.role, "Party")
        return f"{who} {fault.name}: {error.message}".replace("  ", " ")
    who = _ROLE_ZH.get(fault.role, "当事人") + (fault.name or f"（第{fault.index + 1}位）")
    if isinstance(error, InvalidIdNumberError):
        what = _ID_ZH.get(error.reason, "身份证号不正确")
    elif isinstance(error, InvalidPhoneError):
        what = _FIELD_ZH["phone"]
    else:
        what = _FIELD_ZH.get(fault.field, error_text(lang, error))
    return f"{who}：{what}"


_NOTES_ZH: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^no recorder connected"), lambda m: "未接入录像设备：本次调解未录像"),
    (re.compile(r"^recording starting$"), lambda m: "正在开始录像"),
    (re.compile(r"^recording$"), lambda m: "录像中"),
    (re.compile(r"^held without recording$"), lambda m: "未录像"),
    (
        re.compile(r"^recorded (\d+) segment\(s\), (\d+) MiB$"),
        lambda m: f"已录像，共{m.group(1)}段，{m.group(2)} MiB",
    ),
    (re.compile(r"^recording could not start"), lambda m: "录像未能开始，调解继续进行"),
)


def recording_note_text(lang: str, note: str) -> str:
    """A session's recording note (stored in English by the case module) in ``lang``."""
    if lang != "zh-CN" or not note:
        return note
    for pattern, words in _NOTES_ZH:
        match = pattern.match(note)
        if match is not None:
            return words(match)
    return note
