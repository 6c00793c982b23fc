"""Who must attend a meeting: required attendees by role.  Pure core.

A required attendee is a *site* of the meeting — a village centre, the police station, a
linked leader — named the way it joins (``?site=``) and, when it is a unit of the
organisation, with its division code.  Attendance compares the join events with this list.

Defaults follow the township plan (DOMAIN.md, 联席例会): a village's weekly meeting
expects the village itself, its linked township leader (联村领导) and the resident
officials (驻村干部); the township's Friday meeting expects the linked leaders, resident
officials, the police station (派出所), judicial office (司法所), court (人民法庭), the
related stations (站所) and every village of the township.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from meetings._schedule import MeetingKind

__all__ = ["AttendeeRole", "RequiredAttendee", "default_attendees", "short_name"]


class AttendeeRole(StrEnum):
    HOST = "host"  # the unit holding the meeting
    VILLAGE = "village"  # a village (community) centre
    LINKED_LEADER = "linked_leader"  # 联村领导
    RESIDENT_OFFICIAL = "resident_official"  # 驻村干部
    POLICE_STATION = "police_station"  # 派出所
    JUDICIAL_OFFICE = "judicial_office"  # 司法所
    COURT = "court"  # 人民法庭
    STATION = "station"  # related township stations (站所)
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    AttendeeRole.HOST: "主会场",
    AttendeeRole.VILLAGE: "村(社区)",
    AttendeeRole.LINKED_LEADER: "联村领导",
    AttendeeRole.RESIDENT_OFFICIAL: "驻村干部",
    AttendeeRole.POLICE_STATION: "派出所",
    AttendeeRole.JUDICIAL_OFFICE: "司法所",
    AttendeeRole.COURT: "人民法庭",
    AttendeeRole.STATION: "相关站所",
    AttendeeRole.OTHER: "其他",
}


@dataclass(frozen=True, slots=True)
class RequiredAttendee:
    role: AttendeeRole
    site: str  # the name the site joins with and its tile shows
    unit_code: str | None = None


def short_name(unit_name: str) -> str:
    """``和平溪乡和平溪村综治中心`` → ``和平溪村``: what a tile has room for."""
    name = unit_name.removesuffix("综治中心")
    for marker in ("乡", "镇"):
        head, sep, tail = name.partition(marker)
        if sep and tail and not head.endswith("县"):
            return tail
    if "县" in name:
        return name.rsplit("县", 1)[-1] or name
    return name


def default_attendees(
    kind: MeetingKind,
    host: tuple[str, str],
    villages: Sequence[tuple[str, str]] = (),
) -> list[RequiredAttendee]:
    """The required attendees of a new series of ``kind`` held by ``host`` (code, name);
    ``villages`` are the township's villages (code, name) for its Friday meeting."""
    code, name = host
    out = [RequiredAttendee(AttendeeRole.HOST, short_name(name), code)]
    if kind is MeetingKind.VILLAGE_WEEKLY:
        out += [
            RequiredAttendee(AttendeeRole.LINKED_LEADER, "联村领导"),
            RequiredAttendee(AttendeeRole.RESIDENT_OFFICIAL, "驻村干部"),
        ]
    elif kind is MeetingKind.TOWNSHIP_WEEKLY:
        out += [
            RequiredAttendee(AttendeeRole.LINKED_LEADER, "联村领导"),
            RequiredAttendee(AttendeeRole.RESIDENT_OFFICIAL, "驻村干部"),
            RequiredAttendee(AttendeeRole.POLICE_STATION, "派出所"),
            RequiredAttendee(AttendeeRole.JUDICIAL_OFFICE, "司法所"),
            RequiredAttendee(AttendeeRole.COURT, "人民法庭"),
            RequiredAttendee(AttendeeRole.STATION, "相关站所"),
        ]
        out += [
            RequiredAttendee(AttendeeRole.VILLAGE, short_name(v_name), v_code)
            for v_code, v_name in sorted(villages)
        ]
    return out
