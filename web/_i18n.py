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


# ---- dispute cases, ledgers and KPI (issue 6: web/_pages_cases.py, cases_*.html, ledger.html)
ZH.update(
    {
        "Cases": "矛盾纠纷",
        "Ledger": "台账",
        "Dispute cases": "矛盾纠纷案件",
        "New case": "新增受理",
        "One-window intake": "一站式统一受理",
        "Search": "查询",
        "Case number or summary": "案件编号或案情摘要",
        "All": "全部",
        "Dispute type": "纠纷类型",
        "Channel": "受理渠道",
        "Received from": "受理日期起",
        "Received to": "受理日期止",
        "Cases found": "查询结果",
        "Case number": "案件编号",
        "Received": "受理",
        "Parties": "当事人",
        "Handled by": "承办单位",
        "Due": "应上报",
        "Rule breached": "违反3221机制",
        "Previous": "上一页",
        "Next": "下一页",
        "Receiving unit": "受理单位",
        "Mediator (username)": "承办调解员（账号）",
        "Other townships involved (codes)": "涉及的其他乡镇（区划代码）",
        "Summary": "案情摘要",
        "Name, ID number and phone are encrypted at rest and masked in lists.": "姓名、身份证号和电话加密存储，列表中脱敏显示。",
        "Applicant": "申请人",
        "Respondent": "被申请人",
        "Other party": "其他当事人",
        "Other": "其他当事人",
        "ID number": "身份证号",
        "Register case": "登记受理",
        "Case": "案件信息",
        "Mediator": "承办调解员",
        "Initial petition": "初信初访",
        "Initial petitions": "初信初访",
        "Closed": "办结",
        "Resolved": "已化解",
        "Not resolved": "未化解",
        "Show full data": "查看完整信息",
        "Revealed (audited)": "已查看（已记入审计）",
        "3221 rule": "3221机制",
        "Failed mediations at this level": "本级调解未成次数",
        "Involves several townships": "跨乡镇纠纷",
        "Due now": "现应",
        "since": "自",
        "Report to": "上报至",
        "Reason": "原因",
        "Escalate": "上报",
        "County leader in charge": "包案县领导",
        "Mediation sessions": "调解记录",
        "In progress": "调解中",
        "Outcome": "调解结果",
        "Notes": "备注",
        "Finish session": "结束调解",
        "Scheduled": "已预约",
        "Start now": "立即开始",
        "New session": "新增调解",
        "Mode": "方式",
        "Record a session just held": "登记刚结束的调解",
        "Start now (records the room)": "立即开始（调解室同步录像）",
        "Schedule": "预约",
        "Mediation room": "调解室",
        "Scheduled for": "预约时间",
        "Mediated by": "调解主体",
        "Mediators": "调解员",
        "Attendees": "参加人员",
        "Linked township leader": "联村领导",
        "Resident official": "驻村干部",
        "Timeline": "办理过程",
        "Mediation session": "调解",
        "Recording": "录像",
        "Reopen": "重新启动",
        "Close the case": "办结销号",
        "Result": "结果",
        "Note": "说明",
        "Filed on": "信访日期",
        "Reference": "信访件编号",
        "Link petition": "关联初信初访",
        "Monthly dispute ledger": "社会矛盾纠纷排查化解综合台账",
        "Month": "月份",
        "Show": "显示",
        "Ledger submitted.": "台账已报送。",
        "Period": "统计期间",
        "Success rate": "化解成功率",
        "Open at end": "期末未结",
        "Overdue": "超期未结",
        "Reported up / received": "上报 / 接收上报",
        "Trend by month": "月度趋势",
        "Share by type": "纠纷类型占比",
        "3221 funnel": "3221机制漏斗",
        "Active cases by the stage they reached at the end of the period.": "期末在办案件所处的3221阶段。",
        "Initial petitions against 10%": "初信初访占比（控制线10%）",
        "3221 not strictly followed in a petitioned case.": "有信访案件未严格执行3221机制。",
        "3221 stages by unit": "各单位3221机制分布",
        "Total": "合计",
        "By channel": "受理渠道",
        "Reports due by the 25th": "每月25日前报送",
        "Submitted versions": "已报送版本",
        "Reason (for a correction)": "更正原因（再次报送时必填）",
        "Submit and freeze": "报送并封存",
        "event.intake": "受理",
        "event.session": "调解",
        "event.escalate": "上报",
        "event.leader": "县领导包案",
        "event.close": "办结销号",
        "event.reopen": "重新启动",
        "event.petition": "关联初信初访",
        "event.assign": "指派调解员",
        "flag.escalated_too_early": "过早上报",
        "flag.escalated_too_late": "应报未报后继续调解",
        "flag.level_skipped": "越级上报",
        "flag.kept_past_threshold": "超过时限未上报",
        "flag.cross_township_below_county": "跨乡镇纠纷未报县",
        "flag.session_off_level": "非本级调解",
        "report.not_due": "未到期",
        "report.due_today": "今日到期",
        "report.overdue": "已逾期",
        "report.submitted": "已按时报送",
        "report.submitted_late": "逾期报送",
        "error.case_not_found": "未找到该案件，或不在您的辖区。",
        "error.room_not_allowed": "所选房间不是当前承办单位的调解室。",
        "error.escalation_too_early": "未达到3221机制的上报条件。",
        "error.level_skipped": "不得越级上报：村级案件先报乡镇。",
        "error.leader_too_early": "县级专业调解未满两次，暂不能由县领导包案。",
        "error.session_in_progress": "调解尚未结束，请先结束调解。",
        "error.invalid_id_number": "身份证号码有误。",
        "error.invalid_phone": "电话号码有误。",
        "error.unknown_dispute_type": "未知的纠纷类型。",
        "error.unknown_channel": "未知的受理渠道。",
        "error.reopen_reason_required": "重新启动须说明原因。",
        "error.ledger_not_ready": "统计期未结束，暂不能报送。",
        "error.petition_already_linked": "该案件已关联初信初访。",
    }
)


# ---- live wall and talk-back (issue 4: web/_pages_live.py, live.html, live.js)
ZH.update(
    {
        "Live wall": "实时视频墙",
        "Layout": "画面分割",
        "Tour every": "轮巡间隔",
        "seconds": "秒",
        "Start tour": "开始轮巡",
        "Stop tour": "停止轮巡",
        "Tick rooms to choose the tour set.": "勾选房间以设定轮巡范围；不勾选则轮巡当前单位的全部房间。",
        "Talk-back needs HTTPS on this address (the microphone requires a secure context); see docs/https.md.": "在此地址上对讲需要 HTTPS（浏览器仅在安全连接下开放麦克风），请参阅 docs/https.md。",
        "Close": "关闭",
        "Hold to talk": "按住说话",
        "Talking…": "正在对讲…",
        "Mute": "静音",
        "Unmute": "取消静音",
        "Snapshot": "截图",
        "online": "在线",
        "offline": "离线",
        "talking": "对讲中",
        "listen only": "仅监听",
        "connecting": "连接中",
        "is talking into this room": "正在对该房间讲话",
        "Take over the floor?": "是否接管对讲？",
        "Microphone unavailable": "无法使用麦克风",
        "No camera": "无画面",
        "error.talk_floor_busy": "其他人正在对该房间讲话，请稍后再试。",
        "error.listen_only": "该摄像机不支持对讲（仅监听）。",
        "error.camera_not_live": "摄像机当前离线。",
        "error.invalid_offer": "浏览器的媒体协商请求无效。",
        "error.session_not_found": "该会话已结束。",
        "error.camera_not_found": "未找到该摄像机。",
    }
)


# ---- cameras (issue 3: web/_pages_cameras.py, cameras.html)
ZH.update(
    {
        "Cameras": "摄像机",
        "Picture": "画面",
        "Room": "房间",
        "Status": "状态",
        "Device": "设备",
        "Disabled": "已停用",
        "Online": "在线",
        "Offline": "离线",
        "Two-way talk": "可对讲",
        "Listen only": "仅监听",
        "Clock off by": "时钟偏差",
        "Camera registered.": "摄像机已注册。",
        "No cameras registered yet.": "尚未注册摄像机。",
        "Register an ONVIF camera": "注册ONVIF摄像机",
        "Register by RTSP URL (camera without ONVIF)": "按RTSP地址注册（无ONVIF的摄像机）",
        "Camera address": "摄像机地址",
        "ONVIF port": "ONVIF端口",
        "Camera account": "摄像机账号",
        "Camera password": "摄像机密码",
        "Room name if empty": "留空则使用房间名称",
        "Register": "注册",
        "RTSP URL": "RTSP地址",
        "Discover cameras (WS-Discovery)": "发现摄像机（WS-Discovery）",
        "Scan the network": "扫描网络",
        "No unregistered cameras answered.": "没有发现未注册的摄像机。",
        "Register a found camera with its address and port above.": "请用上方表单按地址和端口注册发现的摄像机。",
        "reason.connected": "已连接",
        "reason.starting": "正在连接",
        "reason.wrong_password": "密码错误",
        "reason.refused": "连接被拒绝",
        "reason.unreachable": "网络不可达",
        "reason.stalled": "视频中断",
        "reason.timeout": "响应超时",
        "reason.rebooted": "摄像机已重启",
        "reason.closed": "连接已断开",
        "reason.malformed": "数据异常",
        "reason.refused_stream": "拒绝取流",
        "reason.disabled": "已停用",
        "reason.other": "离线",
        "picture.black": "黑屏",
        "picture.frozen": "画面冻结",
        "picture.covered": "画面遮挡",
        "error.camera_wrong_password": "摄像机拒绝了账号或密码，请使用该摄像机自己的账号。",
        "error.camera_unreachable": "无法连接摄像机，请检查地址和端口。",
        "error.camera_timeout": "摄像机响应超时。",
        "error.camera_refused": "摄像机拒绝了取流请求，请检查码流地址。",
        "error.camera_malformed": "摄像机返回的数据无法解析。",
        "error.onvif_error": "该地址不是可注册的ONVIF摄像机，请检查ONVIF端口。",
        "error.camera_duplicate": "该摄像机已注册。",
        "error.invalid_stream_url": "RTSP地址格式错误，应为 rtsp://主机[:端口]/路径。",
        "error.room_not_found": "未找到该房间。",
        "error.discovery_failed": "网络扫描失败。",
    }
)


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


# ---- recordings (issue 5: web/_pages_recordings.py, recordings.html, recording.html)
ZH.update(
    {
        "Recordings": "录像",
        "Recording": "录像",
        "Day": "日期",
        "Camera": "摄像机",
        "Timeline": "时间轴",
        "Gap": "中断",
        "Gaps": "中断记录",
        "No recordings on this day.": "当日无录像。",
        "Recorded": "已录制",
        "Gap (camera offline or recorder behind)": "中断（摄像机离线或录像跟不上）",
        "Started": "开始时间",
        "Reason": "原因",
        "Legal hold": "证据保全",
        "recording": "录制中",
        "stopped": "已停止",
        "interrupted": "异常中断",
        "deleted": "已删除",
        "Click to seek": "点击跳转",
        "Segments": "录像片段",
        "salvaged": "已抢救",
        "Talk-back": "对讲",
        "None": "无",
        "Verify integrity": "校验完整性",
        "Case ID": "案件ID",
        "Note": "备注",
        "Attach to case": "关联到案件",
        "Evidence export": "证据导出",
        "From": "起",
        "To": "止",
        "Export": "导出",
        "error.recording_not_found": "未找到该录像。",
        "error.recording_conflict": "录像状态冲突：该摄像机已在录像，或录像已停止。",
        "error.legal_hold": "该录像关联未结案件，处于证据保全状态，不能删除。",
        "error.invalid_range": "时间范围或原因有误。",
        "error.storage_full": "存储空间不足。",
        "error.export_failed": "证据包生成失败。",
        "error.not_ready": "证据包尚未生成完成。",
        "error.no_camera": "该房间没有在线的摄像机。",
        "error.case_not_found": "未找到该案件。",
        "error.integrity": "录像完整性校验未通过。",
        "error.recording_error": "录像出错。",
    }
)


# ---- live wall: stream choice and the recording badge (issue 4).  The tile badge has its
# own source string: "recording" is the recordings list's state (录制中).
ZH.update(
    {
        "recording in progress": "录像中",
        "error.unknown_stream": "码流只能是主码流（main）或子码流（sub）。",
    }
)


# ---- configurable dispute types (issue 6 item 1: ledger.html admin section)
ZH.update(
    {
        "Dispute types": "纠纷类型设置",
        "Local types count in the ledger under their standard column.": (
            "本地新增的纠纷类型在台账中计入其对应的标准类型栏目。"
        ),
        "Key": "代码",
        "Ledger column": "台账栏目",
        "Inactive": "已停用",
        "Chinese name": "中文名称",
        "English name": "英文名称",
        "Dispute types saved.": "纠纷类型已保存。",
        "error.dispute_type_exists": "该纠纷类型代码已存在。",
        "error.dispute_type_not_found": "没有该纠纷类型。",
        "error.county_admin_required": "纠纷类型由县级管理员统一设置。",
        "error.unknown_ledger_column": "未知的台账栏目。",
    }
)


# ---- daily use (issue 15): time zone labels, and English for keys that are not English
ZH.update(
    {
        "Beijing time": "北京时间",
    }
)


# ---- production: the organisation tree from a CSV file (issue 14: org.html)
ZH.update(
    {
        "Import units": "导入单位",
        "CSV file of division codes and names": "区划代码与名称的CSV文件",
        "Import": "导入",
        "Units imported": "单位导入完成",
        "added": "个新增",
        "renamed": "个更名",
        "already present": "个已存在",
        "The unit file was not imported": "单位文件未导入",
        "error.bad_unit_file": "单位文件有误，未导入任何单位。",
        "error.already_initialized": "网关已初始化。",
        "error.database_unavailable": "数据库连接中断，请稍后重试。",
    }
)


# ---- RTSP restream (issue 11 item 8): accounts of pulling platforms and NVRs
ZH.update(
    {
        "RTSP restream": "RTSP 转发",
        "Platforms and NVRs that pull video connect with one account each (one machine, "
        "one account) and see the cameras of the account's unit and below.": (
            "拉流的平台和 NVR 每台使用独立账号（一机一账号）接入，只能看到账号所属单位及下级单位的摄像机。"
        ),
        "Listening": "监听中",
        "Not listening": "未监听",
        "Main stream": "主码流",
        "Sub stream": "子码流",
        "Copy this password now; it is shown only once.": "请立即复制此密码，它只显示一次。",
        "Pulls now": "当前拉流",
        "Account": "账号",
        "Stream": "码流",
        "Transport": "传输方式",
        "Client address": "客户端地址",
        "Duration": "时长",
        "No platform is pulling a camera now.": "当前没有平台在拉流。",
        "New restream account": "新建转发账号",
        "error.bad_restream_name": "账号名须为3–64位字母、数字、“.”“_”或“-”，并以字母或数字开头。",
        "error.restream_name_taken": "该账号名已存在（一机一账号）：请吊销原账号或换一个名称。",
        "error.restream_account_not_found": "没有该转发账号。",
        "error.unit_not_found": "该单位不存在。",
        "error.bad_note": "说明不能超过200字。",
    }
)


# ---- GB/T 28181 upper platforms (issue 11): registration state in an operator's words
ZH.update(
    {
        "Upper platforms": "上级平台",
        "The gateway registers to these GB/T 28181 platforms (the Xueliang platform) as one "
        "device; its cameras are the device's channels.": (
            "网关作为一个 GB/T 28181 设备注册到以下上级平台（雪亮工程平台），摄像机是该设备的通道。"
        ),
        "Device ID": "设备编码",
        "SIP address": "SIP 地址",
        "Server ID": "平台编码",
        "Address": "地址",
        "Last error": "最近错误",
        "Registered since": "注册时间",
        "Last keepalive answered": "最近心跳应答",
        "Remove": "删除",
        "No upper platform yet.": "尚未添加上级平台。",
        "Watching now": "当前点播",
        "Platform": "平台",
        "Channel ID": "通道编码",
        "Sent to": "发送至",
        "Since": "开始时间",
        "No platform is watching a camera now.": "当前没有平台在点播摄像机。",
        "Channel IDs": "通道编码",
        "Add an upper platform": "添加上级平台",
        "SIP domain": "SIP 域",
        "Port": "端口",
        "Charset": "字符集",
        "Standard": "标准版本",
        "Registered": "已注册",
        "Registering": "注册中",
        "Registration failed": "注册失败",
        "uplink.error.wrong_password": "密码错误：平台拒绝了用户名或密码，请核对该平台的账号和密码。",
        "uplink.error.no_answer": "平台无应答：请检查平台地址、端口、传输方式（UDP/TCP）和防火墙。",
        "uplink.error.connection_refused": "连接被拒绝：平台地址上没有服务在该端口监听。",
        "uplink.error.not_found": "平台不认识本设备编码：请先在平台上添加本网关，或核对平台编码。",
        "uplink.error.refused": "平台拒绝了注册。",
        "uplink.error.keepalive_lost": "平台不再应答心跳，正在重新注册。",
        "uplink.error.unregistered_by_platform": "平台已不认识本网关（平台重启或注册过期），正在重新注册。",
        "uplink.error.disconnected": "与平台的 TCP 连接断开，正在重新注册。",
        "uplink.error.sip_port_unavailable": "SIP 端口无法打开（已被占用）：请在配置中更换 [uplink] sip_port。",
        "error.invalid_platform": "平台参数有误，未保存。",
        "error.platform_not_found": "没有该上级平台。",
    }
)


# ---- video meetings (issue 12: web/_pages_meetings.py, meeting*.html, meetings.js)
_MEETINGS_ZH = {
    "Video meetings": "视频会议",
    "Village joint meetings on Thursdays, the township meeting on Friday mornings (Beijing time).": "村级联席例会每周四召开，乡级联席例会每周五上午召开（北京时间）。",
    "Calendar feed (ICS)": "订阅日历（ICS）",
    "Link copied": "链接已复制",
    "Meeting created": "会议已创建",
    "Next four weeks": "未来四周",
    "No meetings scheduled.": "暂无会议安排。",
    "Date": "日期",
    "Meeting": "会议",
    "Chair": "主持人",
    "State": "状态",
    "Open": "进入",
    "Attendance": "考勤",
    "moved": "已调整",
    "cancelled": "已取消",
    "in progress": "进行中",
    "ended": "已结束",
    "scheduled": "未开始",
    "New meeting series": "新建例会",
    "Weekday": "星期",
    "default": "默认",
    "Start": "开始时间",
    "Minutes": "时长（分钟）",
    "First date": "首次日期",
    "village_weekly": "村级周例会",
    "township_weekly": "乡级周例会",
    "adhoc": "临时会议",
    "Monday": "星期一",
    "Tuesday": "星期二",
    "Wednesday": "星期三",
    "Thursday": "星期四",
    "Friday": "星期五",
    "Saturday": "星期六",
    "Sunday": "星期日",
    "Agenda": "议程",
    "The camera and microphone need HTTPS on this address; see docs/https.md.": "在此地址使用摄像头和麦克风需要 HTTPS，请参阅 docs/https.md。",
    "Device check": "设备检测",
    "Site name": "会场名称",
    "Join": "加入会议",
    "Leave": "退出会议",
    "Raise hand": "举手",
    "Lower hand": "放下手",
    "Answer roll call": "应答点名",
    "Meeting picture": "会议画面",
    "Chair console": "主持控制台",
    "Start meeting": "开始会议",
    "End meeting": "结束会议",
    "Grid": "宫格",
    "Speaker and strip": "发言人大画面",
    "Single site": "单画面",
    "Mute all": "全体静音",
    "Unmute all": "全体解除静音",
    "Lock the room": "锁定会场",
    "Room camera": "会场摄像机",
    "Site": "会场",
    "Joining…": "正在加入…",
    "In the meeting": "已入会",
    "You left the meeting": "您已退出会议",
    "Spotlight": "主画面",
    "Roll call": "点名",
    "Remove": "移出",
    "muted": "已静音",
    "hand raised": "举手",
    "room camera": "会场摄像机",
    "Camera or microphone unavailable: you can still join to watch and listen.": "摄像头或麦克风不可用：仍可入会收看收听。",
    "The chair is calling your site: answer": "主持人正在点名本会场，请应答",
    "Role": "类别",
    "Required": "应到",
    "Status": "状态",
    "Left early": "早退",
    "First joined": "首次入会",
    "Last left": "最后离会",
    "Joins": "入会次数",
    "Called": "点名时间",
    "Answered": "应答时间",
    "no answer": "未应答",
    "yes": "是",
    "no": "否",
    "present": "出席",
    "late": "迟到",
    "absent": "缺席",
    "host": "主会场",
    "linked_leader": "联村领导",
    "resident_official": "驻村干部",
    "police_station": "派出所",
    "judicial_office": "司法所",
    "court": "人民法庭",
    "station": "相关站所",
    "other": "其他",
}
ZH.update({k: v for k, v in _MEETINGS_ZH.items() if k not in ZH})


# ---- security hardening (issue 13): sign-in throttling and the errors it adds
ZH.update(
    {
        "error.login_throttled": "登录失败次数过多，请稍候再试。",
    }
)
