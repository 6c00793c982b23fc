"""Errors of the dispute-case package.

:class:`CaseError` is the root; every precise error also inherits one *kind* from
:mod:`core.errors`, which the web layer maps to an HTTP status (400 for bad input, 409 for
a request that the current state of the case does not allow).  The ``code`` of each error
is stable, so the UI can show its own zh-CN text; the message says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import ConflictError, GatewayError, InvalidInputError, NotFoundError

__all__ = [
    "CaseError",
    "CaseNotFoundError",
    "DisputeTypeExistsError",
    "DisputeTypeNotFoundError",
    "EscalationNotAllowed",
    "InconsistentHistoryError",
    "InvalidCaseInputError",
    "InvalidCaseNumberError",
    "InvalidIdNumberError",
    "InvalidPhoneError",
    "LedgerNotReadyError",
    "PartyFault",
    "PetitionAlreadyLinkedError",
    "ReopenReasonRequired",
    "RoomNotAllowedError",
    "SessionNotAllowed",
    "StatusTransitionNotAllowed",
    "UnknownChoiceError",
]


@dataclass(frozen=True, slots=True)
class PartyFault:
    """Which party of an intake a refused field belongs to (position, role, name, field),
    so that a form can mark the field and say "申请人张华：…"."""

    index: int
    role: str
    name: str
    field: str  # "name", "role", "id_number" or "phone"


class CaseError(GatewayError):
    """Root of every error raised on purpose by the ``cases`` package."""

    code = "case_error"
    #: Set on an error about one party of an intake.
    party: PartyFault | None = None


class InvalidIdNumberError(CaseError, InvalidInputError):
    """A resident ID number (居民身份证号码) is malformed; ``reason`` says how (``length``,
    ``province``, ``birth_date``, ``birth_implausible`` or ``check_char``)."""

    code = "invalid_id_number"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class InvalidPhoneError(CaseError, InvalidInputError):
    """A phone number is neither a mainland mobile nor a landline number."""

    code = "invalid_phone"


class InvalidCaseNumberError(CaseError, InvalidInputError):
    """A case number does not have the form ``<unit code>-<year>-<6-digit sequence>``."""

    code = "invalid_case_number"


class UnknownChoiceError(CaseError, InvalidInputError):
    """A value is not one of a fixed vocabulary (dispute type, channel, outcome …)."""

    code = "unknown_choice"

    def __init__(self, field: str, value: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"unknown {field} {value!r}; use one of: {', '.join(allowed)}",
            code=f"unknown_{field}",
        )
        self.field = field
        self.value = value
        self.allowed = tuple(allowed)


class ReopenReasonRequired(CaseError, InvalidInputError):
    """A closed case is reopened only with a reason."""

    code = "reopen_reason_required"


class InconsistentHistoryError(CaseError, InvalidInputError):
    """A case history cannot have happened (an escalation from a level the case was not at)."""

    code = "inconsistent_history"


class EscalationNotAllowed(CaseError, ConflictError):
    """The 3221 rules do not allow this escalation (or 包案) now; ``code`` says why."""

    code = "escalation_not_allowed"


class SessionNotAllowed(CaseError, ConflictError):
    """A mediation session cannot be recorded at that level or in that state of the case."""

    code = "session_not_allowed"


class StatusTransitionNotAllowed(CaseError, ConflictError):
    """The case cannot move from its current status to the requested one."""

    code = "status_transition_not_allowed"


# Errors of the persistence shell (cases._service): a case or room the caller cannot use,
# and request fields that break a rule of intake, sessions, petitions or ledgers.


class CaseNotFoundError(CaseError, NotFoundError):
    """No such case, or not in the caller's scope (the same answer, so nothing leaks)."""

    code = "case_not_found"


class InvalidCaseInputError(CaseError, InvalidInputError):
    """A field of a case request is missing or malformed; the message names it."""

    code = "invalid_case_input"


class RoomNotAllowedError(CaseError, InvalidInputError):
    """The session's room is not a mediation room of the unit that holds the case."""

    code = "room_not_allowed"


class PetitionAlreadyLinkedError(CaseError, ConflictError):
    """A case links one initial petition (初信初访); it is already linked."""

    code = "petition_already_linked"


class LedgerNotReadyError(CaseError, ConflictError):
    """A monthly ledger is submitted once its statistical period has ended."""

    code = "ledger_not_ready"


class DisputeTypeExistsError(CaseError, ConflictError):
    """A dispute type with that key is already configured (keys are never reused)."""

    code = "dispute_type_exists"


class DisputeTypeNotFoundError(CaseError, NotFoundError):
    """No dispute type with that key is configured."""

    code = "dispute_type_not_found"
