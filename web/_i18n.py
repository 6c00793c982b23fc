"""Interface language: Simplified Chinese by default, English on request (gettext style).

Templates and handlers write English source strings; the zh-CN catalog maps them.  A string
missing from the catalog shows in English, and ``tests/web/test_i18n.py`` fails on it.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["DEFAULT_LANG", "LANGS", "ZH", "language_of", "translate"]

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")

ZH: dict[str, str] = {
    # shell
    "Comprehensive Governance Video Gateway": "综治视频网关",
    "Home": "首页",
    "Organisation": "组织机构",
    "Users": "用户",
    "Machine accounts": "机器账号",
    "Audit log": "审计日志",
    "Sign in": "登录",
    "Sign out": "退出",
    "Username": "用户名",
    "Password": "密码",
    "Change password": "修改密码",
    "Current password": "当前密码",
    "New password": "新密码",
    "Repeat new password": "再次输入新密码",
    "Save": "保存",
    "Create": "创建",
    "Add": "添加",
    "Revoke": "吊销",
    "Disable": "停用",
    "Enable": "启用",
    "Language": "语言",
    "Signed in as": "当前用户",
    "Password changed.": "密码已修改。",
    "The two new passwords differ.": "两次输入的新密码不一致。",
    # levels, roles, kinds
    "county": "县级",
    "township": "乡级",
    "village": "村级",
    "admin": "管理员",
    "operator": "值班员",
    "mediator": "调解员",
    "chair": "会议主持",
    "auditor": "审计员",
    "reception": "群众接待室",
    "mediation": "矛盾纠纷调解室",
    # dashboard
    "Units in your scope": "辖区单位",
    "Townships": "乡镇",
    "Villages and communities": "村（社区）",
    "Rooms": "接待室 / 调解室",
    "Staff notice board": "工作人员公示",
    "Recent audit entries": "最近审计记录",
    "Unit tree": "单位树",
    "Division code": "区划代码",
    "Name": "名称",
    "Level": "层级",
    "Kind": "类型",
    "Unit": "单位",
    "Role": "角色",
    "Title": "职务",
    "Phone": "联系电话",
    "Status": "状态",
    "Active": "正常",
    "Disabled": "已停用",
    "Locked": "已锁定",
    "Revoked": "已吊销",
    "Created": "创建时间",
    "Last used": "最近使用",
    "Actions": "操作",
    "Display name": "姓名",
    "Add unit": "新增单位",
    "Add room": "新增房间",
    "Add staff member": "新增工作人员",
    "Add user": "新增用户",
    "New machine account": "新建机器账号",
    "Copy this token now; it is shown only once.": "请立即复制此令牌，它只显示一次。",
    "Time": "时间",
    "Actor": "操作人",
    "Action": "动作",
    "Object": "对象",
    "Chain verified": "哈希链校验通过",
    "Chain broken at entry": "哈希链断裂于第",
    "entries": "条",
    "No entries.": "暂无记录。",
    "Verify chain": "校验哈希链",
    # errors (by code)
    "error.login_failed": "用户名或密码错误。",
    "error.account_locked": "账号因多次登录失败已被锁定，请稍后再试或联系管理员解锁。",
    "error.unauthenticated": "请先登录。",
    "error.forbidden": "您无权执行此操作。",
    "error.scope_forbidden": "该对象不属于您的辖区。",
    "error.role_forbidden": "您的角色无权执行此操作。",
    "error.csrf": "表单已过期，请刷新页面后重试。",
    "error.not_found": "未找到该对象。",
    "error.weak_password": "密码不符合要求：至少10位，须同时包含字母和数字，且不能包含用户名。",
    "error.wrong_password": "当前密码错误。",
    "error.conflict": "操作与当前状态冲突。",
    "error.invalid_input": "输入有误。",
    "Error": "出错了",
    "Back": "返回",
}


def language_of(request: web.Request) -> str:
    """``?lang=`` wins, then the ``lang`` cookie, then zh-CN."""
    lang = request.query.get("lang") or request.cookies.get("lang") or DEFAULT_LANG
    return lang if lang in LANGS else DEFAULT_LANG


def translate(lang: str, text: str) -> str:
    """The text in ``lang``; for ``error.<code>`` keys without an entry, ``""`` so that the
    caller falls back to the error's own (English) message."""
    if text.startswith("error."):
        return ZH.get(text, "") if lang == "zh-CN" else ""
    if lang == "zh-CN":
        return ZH.get(text, text)
    return text
