"""The audit log in words: who (by name), did what (a phrase), to what (named), where.

Actions are stable codes (``case.intake``); a reader needs "受理案件". Unknown codes (a
newer module's) fall back to the code itself, shown as a code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import AuditEntry

__all__ = [
    "ACTIONS",
    "AuditLine",
    "action_text",
    "actor_text",
    "describe",
    "duration_text",
    "folded",
]

#: action code → (zh-CN, English)
ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("登录", "Signed in"),
    "logout": ("退出登录", "Signed out"),
    "login.failed": ("登录失败", "Failed sign-in"),
    "login.locked": ("登录被锁定", "Sign-in while locked"),
    "login.throttled": ("登录尝试过多，暂时受限", "Sign-in throttled after failures"),
    "login.unthrottled": ("登录限制解除", "Sign-in throttle lifted"),
    "user.create": ("新增用户", "Created a user"),
    "user.disable": ("停用用户", "Disabled a user"),
    "user.enable": ("启用用户", "Enabled a user"),
    "user.password_change": ("修改密码", "Changed the password"),
    "user.password_reset": ("重置密码", "Reset a password"),
    "token.create": ("新建机器账号", "Created a machine account"),
    "token.revoke": ("吊销机器账号", "Revoked a machine account"),
    "unit.create": ("新增单位", "Added a unit"),
    "unit.import": ("导入单位", "Imported units"),
    "room.create": ("新增房间", "Added a room"),
    "staff.add": ("新增公示人员", "Added a staff member"),
    "gateway.init": ("初始化网关", "Initialised the gateway"),
    "demo.seed": ("生成演示数据", "Seeded demo data"),
    "camera.register": ("注册摄像机", "Registered a camera"),
    "camera.update": ("修改摄像机", "Changed a camera"),
    "camera.delete": ("删除摄像机", "Removed a camera"),
    "live.view.start": ("开始查看实时视频", "Started watching live"),
    "live.view.stop": ("停止查看实时视频", "Stopped watching live"),
    "live.view": ("查看实时视频", "Watched live"),
    "live.talk.start": ("开始对讲", "Started talking"),
    "live.talk.stop": ("结束对讲", "Stopped talking"),
    "live.talk": ("对讲", "Talked into the room"),
    "recording.start": ("开始录像", "Started a recording"),
    "recording.stop": ("停止录像", "Stopped a recording"),
    "recording.play": ("回放录像", "Played a recording"),
    "recording.attach": ("录像关联案件", "Attached a recording to a case"),
    "recording.detach": ("解除录像关联", "Detached a recording from a case"),
    "recording.delete": ("删除录像", "Deleted a recording"),
    "recording.policy": ("设置录像策略", "Set a recording policy"),
    "recording.export": ("导出证据包", "Exported evidence"),
    "recording.export.download": ("下载证据包", "Downloaded an evidence package"),
    "recording.hold": ("设置证据保全", "Put a recording on legal hold"),
    "recording.release": ("解除证据保全", "Released a legal hold"),
    "case.intake": ("受理案件", "Received a case"),
    "case.assign": ("指派调解员", "Assigned a mediator"),
    "case.session.record": ("登记调解", "Recorded a mediation session"),
    "case.session.start": ("开始调解", "Started a mediation session"),
    "case.session.schedule": ("预约调解", "Booked a mediation session"),
    "case.session.finish": ("结束调解", "Finished a mediation session"),
    "case.escalate": ("上报案件", "Reported a case up"),
    "case.leader": ("县领导包案", "County leader took charge"),
    "case.close": ("办结销号", "Closed a case"),
    "case.reopen": ("重新启动案件", "Reopened a case"),
    "case.petition": ("关联初信初访", "Linked an initial petition"),
    "case.pii.reveal": ("查看当事人完整信息", "Revealed a party's personal data"),
    "case.dispute_type.create": ("新增纠纷类型", "Added a dispute type"),
    "case.dispute_type.update": ("修改纠纷类型", "Changed a dispute type"),
    "ledger.submit": ("报送台账", "Submitted a ledger"),
    "meeting.series.create": ("新建例会", "Created a meeting series"),
    "meeting.occurrence.change": ("调整例会", "Changed a meeting"),
    "meeting.start": ("开始会议", "Started a meeting"),
    "meeting.end": ("结束会议", "Ended a meeting"),
    "restream.account.create": ("新建转发账号", "Created a restream account"),
    "restream.account.revoke": ("吊销转发账号", "Revoked a restream account"),
    "restream.auth_failed": ("转发认证失败", "Restream sign-in failed"),
    "restream.pull.start": ("平台开始拉流", "A platform started pulling"),
    "restream.pull.stop": ("平台停止拉流", "A platform stopped pulling"),
    "uplink.platform.create": ("新增上级平台", "Added an upper platform"),
    "uplink.platform.update": ("修改上级平台", "Changed an upper platform"),
    "uplink.platform.delete": ("删除上级平台", "Removed an upper platform"),
    "access.denied": ("访问被拒绝", "Access refused"),
}

#: object type → (zh-CN, English)
OBJECTS: dict[str, tuple[str, str]] = {
    "camera": ("摄像机", "camera"),
    "case": ("案件", "case"),
    "case_party": ("当事人", "party"),
    "dispute_type": ("纠纷类型", "dispute type"),
    "ledger": ("台账", "ledger"),
    "meeting": ("会议", "meeting"),
    "recording": ("录像", "recording"),
    "restream_account": ("转发账号", "restream account"),
    "room": ("房间", "room"),
    "staff": ("工作人员", "staff member"),
    "token": ("机器账号", "machine account"),
    "unit": ("单位", "unit"),
    "uplink_platform": ("上级平台", "upper platform"),
    "user": ("用户", "user"),
    "page": ("页面", "page"),
}


def action_text(lang: str, action: str) -> str:
    pair = ACTIONS.get(action)
    return action if pair is None else pair[0 if lang == "zh-CN" else 1]


def actor_text(lang: str, actor: str, people: Mapping[str, str]) -> str:
    """``user:hpx.admin`` → the person's name (and account); machines and the system in words."""
    kind, _, name = actor.partition(":")
    if kind == "user":
        shown = people.get(name)
        return (
            f"{shown}（{name}）"
            if shown and lang == "zh-CN"
            else f"{shown} ({name})"
            if shown
            else name
        )
    if kind == "token":
        return f"机器账号 {name}" if lang == "zh-CN" else f"machine account {name}"
    if kind == "system":
        return "系统" if lang == "zh-CN" else "the system"
    if kind == "anonymous":
        return f"未知账号 {name}" if lang == "zh-CN" else f"unknown account {name}"
    if kind == "restream":
        return f"转发账号 {name}" if lang == "zh-CN" else f"restream account {name}"
    return actor


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One row of the audit page: an entry in words, or a view folded with its stop."""

    seq: int
    at: Any  # datetime
    actor: str
    action: str
    code: str
    target: str
    unit: str
    duration: str = ""


def _target(lang: str, entry: AuditEntry, objects: Mapping[tuple[str, str], str]) -> str:
    kind = OBJECTS.get(entry.object_type)
    kind_text = entry.object_type if kind is None else kind[0 if lang == "zh-CN" else 1]
    named = objects.get((entry.object_type, entry.object_id))
    return f"{kind_text} {named or entry.object_id}".strip()


def describe(
    lang: str,
    entry: AuditEntry,
    people: Mapping[str, str],
    units: Mapping[str, str],
    objects: Mapping[tuple[str, str], str],
) -> AuditLine:
    return AuditLine(
        entry.seq,
        entry.at,
        actor_text(lang, entry.actor, people),
        action_text(lang, entry.action),
        entry.action,
        _target(lang, entry, objects),
        units.get(entry.unit_code or "", entry.unit_code or ""),
    )


def duration_text(lang: str, seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if lang == "zh-CN":
        return (
            (f"{hours}小时" if hours else "")
            + (f"{minutes}分" if minutes or hours else "")
            + f"{secs}秒"
        )
    return (
        (f"{hours} h " if hours else "")
        + (f"{minutes} min " if minutes or hours else "")
        + f"{secs} s"
    )


def folded(
    lang: str,
    entries: list[AuditEntry],
    people: Mapping[str, str],
    units: Mapping[str, str],
    objects: Mapping[tuple[str, str], str],
) -> list[AuditLine]:
    """Entries (newest first) in words; the start and stop of one live view or talk
    session are one line with its duration (the chain keeps both entries)."""
    stops: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.action in ("live.view.stop", "live.talk.stop"):
            session = _session_of(entry)
            if session:
                stops[entry.action[:-5] + session] = entry
    pairs = {
        entry.seq: stop
        for entry in entries
        if entry.action in ("live.view.start", "live.talk.start")
        and (stop := stops.get(entry.action[:-6] + _session_of(entry))) is not None
    }
    used = {stop.seq for stop in pairs.values()}
    lines = []
    for entry in entries:
        if entry.seq in used:
            continue
        if entry.seq in pairs:
            stop = pairs[entry.seq]
            line = describe(lang, entry, people, units, objects)
            lines.append(
                AuditLine(
                    line.seq,
                    line.at,
                    line.actor,
                    action_text(lang, entry.action[: -len(".start")]),
                    entry.action[: -len(".start")],
                    line.target,
                    line.unit,
                    duration_text(lang, (stop.at - entry.at).total_seconds()),
                )
            )
            continue
        lines.append(describe(lang, entry, people, units, objects))
    return lines


def _session_of(entry: AuditEntry) -> str:
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        return ""
    return str(detail.get("session", "")) if isinstance(detail, dict) else ""
