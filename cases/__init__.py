"""Dispute cases (矛盾纠纷): one-window intake, mediation sessions, the 3221 escalation rule,
monthly ledgers (台账) due by the 25th and the yearly 10% petition KPI.

The rules are a pure core (``_rules``, ``_ledger``, ``_kpi`` …); :class:`CaseService`,
:class:`MediationSessions` and :class:`LedgerService` are the async shells over the
database.  Recording goes through :class:`SessionRecorder`, wired by ``gateway.app``.
"""

from cases._calendar import Month, ReportStatus, china_date
from cases._dispute_types import STANDARD_TYPES, DisputeTypeCatalogue, DisputeTypeDef
from cases._errors import (
    CaseError,
    CaseNotFoundError,
    DisputeTypeExistsError,
    DisputeTypeNotFoundError,
    EscalationNotAllowed,
    InvalidCaseInputError,
    InvalidIdNumberError,
    InvalidPhoneError,
    PartyFault,
    RoomNotAllowedError,
    SessionNotAllowed,
)
from cases._export import ledger_csv, ledger_rows, ledger_xlsx
from cases._inputs import (
    CaseQuery,
    IntakeInput,
    PartyInput,
    PartyRole,
    SessionInput,
    SessionMode,
    parse_day,
)
from cases._kpi import PetitionKpi
from cases._ledger import LedgerConfig, MonthlyLedger, compute_ledger, cross_check
from cases._ledger_service import LedgerInconsistentError, LedgerService, ReportRow
from cases._mediation import MediationSessions
from cases._recorder import NO_RECORDER_NOTE, RecordingRef, SessionRecorder
from cases._report_sql import TrendPoint
from cases._rules import Assessment, DueEscalation, Flag, FlagKind, RulesConfig
from cases._service import CaseService
from cases._type_config import DisputeTypeInput, DisputeTypePatch, DisputeTypes
from cases._types import CaseStatus, Channel, DisputeType, MediatorKind, Outcome, Stage, label
from cases._views import (
    CaseDetail,
    CasePage,
    CaseSummary,
    EscalationView,
    EventView,
    LedgerSnapshot,
    PartyView,
    RevealedParty,
    SessionView,
    ledger_to_json,
)

__all__ = [
    "NO_RECORDER_NOTE",
    "STANDARD_TYPES",
    "Assessment",
    "CaseDetail",
    "CaseError",
    "CaseNotFoundError",
    "CasePage",
    "CaseQuery",
    "CaseService",
    "CaseStatus",
    "CaseSummary",
    "Channel",
    "DisputeType",
    "DisputeTypeCatalogue",
    "DisputeTypeDef",
    "DisputeTypeExistsError",
    "DisputeTypeInput",
    "DisputeTypeNotFoundError",
    "DisputeTypePatch",
    "DisputeTypes",
    "DueEscalation",
    "EscalationNotAllowed",
    "EscalationView",
    "EventView",
    "Flag",
    "FlagKind",
    "IntakeInput",
    "InvalidCaseInputError",
    "InvalidIdNumberError",
    "InvalidPhoneError",
    "LedgerConfig",
    "LedgerInconsistentError",
    "LedgerService",
    "LedgerSnapshot",
    "MediationSessions",
    "MediatorKind",
    "Month",
    "MonthlyLedger",
    "Outcome",
    "PartyFault",
    "PartyInput",
    "PartyRole",
    "PartyView",
    "PetitionKpi",
    "RecordingRef",
    "ReportRow",
    "ReportStatus",
    "RevealedParty",
    "RoomNotAllowedError",
    "RulesConfig",
    "SessionInput",
    "SessionMode",
    "SessionNotAllowed",
    "SessionRecorder",
    "SessionView",
    "Stage",
    "TrendPoint",
    "china_date",
    "compute_ledger",
    "cross_check",
    "label",
    "ledger_csv",
    "ledger_rows",
    "ledger_to_json",
    "ledger_xlsx",
    "parse_day",
]
