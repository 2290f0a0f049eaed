"""Chinese labels of audit actions and actors, for the case log and the audit view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.formatting import action_label, local_time
from hotline.casework.catalogue import get_catalogue
from hotline.casework.vocab import Channel, Satisfaction, Urgency

AUDIT_LABELS = {
    "set_location": "补充位置",
    "login": "登录",
    "account_locked": "账号锁定",
    "user_create": "创建账号",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "user_password": "重置密码",
    "user_role": "调整角色",
    "token_create": "创建 API 令牌",
    "token_revoke": "吊销 API 令牌",
    "apikey_create": "创建 Open311 密钥",
    "apikey_revoke": "吊销 Open311 密钥",
    "department_add": "新增承办单位",
    "department_enable": "启用承办单位",
    "department_disable": "停用承办单位",
    "category_department": "调整默认承办单位",
    "canned_add": "新增常用回复",
    "canned_edit": "修改常用回复",
    "export": "导出（已脱敏）",
    "export_full": "导出完整数据（含个人信息）",
    "anonymise": "匿名化",
    "retention_run": "到期匿名化",
    "data_request_done": "办理删除申请",
}
ACTOR_KINDS = {"resident": "居民", "operator": "工作人员", "system": "系统"}
DATA_LABELS = {
    "department": "承办单位",
    "assignee": "经办人",
    "target": "合并到",
    "source": "合并自",
    "co_reporters": "转入共同反映人",
    "rating": "评价",
    "days": "延期工作日",
    "category": "类别",
    "urgency": "紧急程度",
    "channel": "渠道",
    "format": "格式",
    "count": "条数",
    "user": "账号",
    "cases": "工单数",
    "days_kept": "保留天数",
    "open_kept": "保留的在办工单",
    "messages": "消息",
}


def audit_label(action: str) -> str:
    """The Chinese label of any audit action (the code itself when unknown)."""
    label = action_label(action)
    return AUDIT_LABELS.get(action, label)


def readable(value: object) -> str:
    """A code or timestamp from event data in words: category, urgency, channel and rating
    codes become their Chinese names, ISO timestamps local times."""
    if isinstance(value, list):
        return "、".join(readable(v) for v in value)
    text = str(value)
    catalogue = get_catalogue()
    if catalogue.has(text):
        return catalogue.get(text).name
    for enum in (Urgency, Channel, Satisfaction):
        try:
            return str(enum(text).label)
        except ValueError:
            pass
    if len(text) >= 19 and text[4] == "-" and "T" in text:
        try:
            return local_time(datetime.fromisoformat(text), with_year=True)
        except ValueError:
            return text
    return text


def data_summary(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The readable parts of an event's data, e.g. ``承办单位: 城管执法中队``."""
    if not data:
        return []
    parts = []
    for key, value in data.items():
        if key == "filters" and isinstance(value, dict):
            text = "，".join(f"{k}={v}" for k, v in value.items()) or "无"
            parts.append(("筛选", text))
        elif key in ("from", "to") and isinstance(value, str):
            parts.append(("由" if key == "from" else "改为", readable(value)))
        elif key in DATA_LABELS and value not in (None, "", []):
            parts.append((DATA_LABELS[key], readable(value)))
    return parts
