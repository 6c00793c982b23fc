"""Case status transitions (统一受理 → 调解 → 上报 / 包案 → 办结销号 → 重新启动).

The status is what lists and dashboards show; the 3221 facts (level, 包案) live in the
history and are judged by :mod:`cases._rules`.  This table only keeps the status column
honest: a closed case is reopened before anything else happens to it, and a reopening
always says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from cases._errors import ReopenReasonRequired, StatusTransitionNotAllowed
from cases._types import CaseStatus, label

__all__ = ["ALLOWED_TRANSITIONS", "check_reopen", "check_transition"]

_S = CaseStatus
ALLOWED_TRANSITIONS: Final[Mapping[CaseStatus, frozenset[CaseStatus]]] = MappingProxyType(
    {
        _S.RECEIVED: frozenset({_S.IN_MEDIATION, _S.ESCALATED, _S.CLOSED}),
        _S.IN_MEDIATION: frozenset({_S.IN_MEDIATION, _S.ESCALATED, _S.LEADER_IN_CHARGE, _S.CLOSED}),
        _S.ESCALATED: frozenset({_S.IN_MEDIATION, _S.ESCALATED, _S.LEADER_IN_CHARGE, _S.CLOSED}),
        _S.LEADER_IN_CHARGE: frozenset({_S.LEADER_IN_CHARGE, _S.CLOSED}),
        _S.CLOSED: frozenset({_S.REOPENED}),
        _S.REOPENED: frozenset({_S.IN_MEDIATION, _S.ESCALATED, _S.LEADER_IN_CHARGE, _S.CLOSED}),
    }
)

_MIN_REASON = 4  # characters; "重新调解" is the shortest useful reason


def check_transition(current: CaseStatus, new: CaseStatus) -> None:
    """Raise :class:`StatusTransitionNotAllowed` unless ``current → new`` is allowed."""
    if new not in ALLOWED_TRANSITIONS[current]:
        hint = "; reopen it first" if current is CaseStatus.CLOSED else ""
        raise StatusTransitionNotAllowed(
            f"a case that is {label(current, 'en').lower()} cannot become "
            f"{label(new, 'en').lower()}{hint}"
        )


def check_reopen(current: CaseStatus, reason: str) -> str:
    """Return the stripped reason if a case may be reopened with it, else raise."""
    check_transition(current, CaseStatus.REOPENED)
    stripped = reason.strip()
    if len(stripped) < _MIN_REASON:
        raise ReopenReasonRequired(
            f"say why the case is reopened (at least {_MIN_REASON} characters), "
            "e.g. 协议未履行，当事人再次申请调解"
        )
    return stripped
