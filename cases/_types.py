"""The fixed vocabularies of a dispute case, with stable English keys and zh-CN labels.

The keys (enum values) are what the database, the API and the CSV export store; they never
change once released.  Labels are UI text: ``label_zh`` is the default, ``label_en`` the
English option.  The dispute types are the rows of the monthly ledger
(社会矛盾纠纷排查化解综合台账), so their order here is the order of the ledger columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, TypeVar

from cases._errors import UnknownChoiceError

__all__ = [
    "CaseStatus",
    "Channel",
    "DisputeType",
    "MediatorKind",
    "Outcome",
    "Stage",
    "label",
    "parse_choice",
]


class DisputeType(StrEnum):
    """The ten standard kinds of dispute (矛盾纠纷类型): the by-type columns of the ledger.

    Intake picks from the configurable list (:mod:`cases._dispute_types`), which starts
    as exactly these ten and maps every local type to one of them.
    """

    NEIGHBOURHOOD = "neighbourhood"
    FAMILY = "family"
    LAND_FOREST = "land_forest"
    LABOUR = "labour"
    CONTRACT_DEBT = "contract_debt"
    CONSTRUCTION = "construction"
    TRAFFIC = "traffic"
    MEDICAL = "medical"
    PROPERTY = "property"
    OTHER = "other"


class Channel(StrEnum):
    """How the case reached the one-stop window (受理渠道)."""

    WINDOW = "window"
    PHONE = "phone"
    GRID_WORKER = "grid_worker"
    TRANSFER = "transfer"
    PETITION_OFFICE = "petition_office"


class Outcome(StrEnum):
    """Outcome of one mediation session (调解结果)."""

    RESOLVED_WRITTEN = "resolved_written"
    RESOLVED_ORAL = "resolved_oral"
    RESOLVED_JUDICIAL = "resolved_judicial"
    PARTLY = "partly"
    FAILED = "failed"

    @property
    def resolved(self) -> bool:
        """True for the three "resolved" outcomes.

        A partly resolved dispute is *not* resolved: for the 3221 thresholds it counts as a
        mediation "without success", because the dispute is still open and the rule is about
        disputes that stay open after repeated mediation.
        """
        return self in _RESOLVED


_RESOLVED: Final = frozenset(
    {Outcome.RESOLVED_WRITTEN, Outcome.RESOLVED_ORAL, Outcome.RESOLVED_JUDICIAL}
)


class MediatorKind(StrEnum):
    """Who mediated a session.

    At the county only sessions held by professional/sector mediation bodies
    (行业性专业性调解组织) or by functional departments (职能部门) count towards the two
    mediations that precede 县领导包案; see :class:`cases._rules.RulesConfig`.
    """

    PROFESSIONAL = "professional"
    DEPARTMENT = "department"
    PEOPLES_MEDIATION = "peoples_mediation"
    CENTRE_STAFF = "centre_staff"
    OTHER = "other"


class CaseStatus(StrEnum):
    """Where a case is in its life (案件状态)."""

    RECEIVED = "received"
    IN_MEDIATION = "in_mediation"
    ESCALATED = "escalated"
    LEADER_IN_CHARGE = "leader_in_charge"
    CLOSED = "closed"
    REOPENED = "reopened"


class Stage(StrEnum):
    """The four steps of the 3221 funnel: village, township, county, county leader."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    COUNTY_LEADER = "county_leader"


# Looked up by (vocabulary, key): members of different vocabularies share keys ("other"),
# and StrEnum members compare and hash as their string, so a plain dict would merge them.
_LABEL_LIST: Final[tuple[tuple[StrEnum, tuple[str, str]], ...]] = (
    (DisputeType.NEIGHBOURHOOD, ("邻里纠纷", "Neighbourhood")),
    (DisputeType.FAMILY, ("婚姻家庭纠纷", "Marriage and family")),
    (DisputeType.LAND_FOREST, ("山林土地纠纷", "Land and forestry")),
    (DisputeType.LABOUR, ("劳动争议/欠薪纠纷", "Labour and unpaid wages")),
    (DisputeType.CONTRACT_DEBT, ("合同债务纠纷", "Contracts and debts")),
    (DisputeType.CONSTRUCTION, ("工程建设纠纷", "Construction")),
    (DisputeType.TRAFFIC, ("交通事故纠纷", "Traffic accidents")),
    (DisputeType.MEDICAL, ("医疗纠纷", "Medical")),
    (DisputeType.PROPERTY, ("物业房屋纠纷", "Property and housing")),
    (DisputeType.OTHER, ("其他纠纷", "Other")),
    (Channel.WINDOW, ("窗口受理", "Reception window")),
    (Channel.PHONE, ("电话", "Telephone")),
    (Channel.GRID_WORKER, ("网格员上报", "Grid worker")),
    (Channel.TRANSFER, ("转办", "Transferred from another unit")),
    (Channel.PETITION_OFFICE, ("信访转入", "Petition office")),
    (Outcome.RESOLVED_WRITTEN, ("调解成功（书面协议）", "Resolved, written agreement")),
    (Outcome.RESOLVED_ORAL, ("调解成功（口头协议）", "Resolved, oral agreement")),
    (Outcome.RESOLVED_JUDICIAL, ("调解成功（司法确认）", "Resolved, judicially confirmed")),
    (Outcome.PARTLY, ("部分化解", "Partly resolved")),
    (Outcome.FAILED, ("调解不成", "Failed")),
    (MediatorKind.PROFESSIONAL, ("行业性专业性调解组织", "Professional/sector mediation body")),
    (MediatorKind.DEPARTMENT, ("职能部门", "Functional department")),
    (MediatorKind.PEOPLES_MEDIATION, ("人民调解委员会", "People's mediation committee")),
    (MediatorKind.CENTRE_STAFF, ("综治中心工作人员", "Governance centre staff")),
    (MediatorKind.OTHER, ("其他", "Other")),
    (CaseStatus.RECEIVED, ("已受理", "Received")),
    (CaseStatus.IN_MEDIATION, ("调解中", "In mediation")),
    (CaseStatus.ESCALATED, ("已上报", "Escalated")),
    (CaseStatus.LEADER_IN_CHARGE, ("县领导包案", "County leader in charge")),
    (CaseStatus.CLOSED, ("办结销号", "Closed")),
    (CaseStatus.REOPENED, ("重新启动", "Reopened")),
    (Stage.VILLAGE, ("村级调解", "Village mediation")),
    (Stage.TOWNSHIP, ("乡级调解", "Township mediation")),
    (Stage.COUNTY, ("县级调解", "County mediation")),
    (Stage.COUNTY_LEADER, ("县领导包案", "County leader in charge")),
)


_LABELS: Final[Mapping[tuple[type[StrEnum], str], tuple[str, str]]] = {
    (type(member), member.value): labels for member, labels in _LABEL_LIST
}


def label(value: StrEnum, lang: str = "zh") -> str:
    """The UI label of a vocabulary value: ``"zh"`` (default) or ``"en"``."""
    zh, en = _LABELS[type(value), value.value]
    return en if lang == "en" else zh


_E = TypeVar("_E", bound=StrEnum)


def parse_choice(kind: type[_E], value: str, *, field: str) -> _E:
    """``kind(value)``, or :class:`UnknownChoiceError` naming the field and the allowed keys."""
    try:
        return kind(value)
    except ValueError:
        raise UnknownChoiceError(field, value, [member.value for member in kind]) from None
