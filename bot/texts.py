"""Everything the Telegram bot itself says to residents and operators, in Simplified Chinese.

Texts about cases and privacy come from ``hotline`` (they are the same on every channel).
"""

from __future__ import annotations

from hotline.channels.attachments import MAX_PHOTO_BYTES, SUPPORTED_LABEL

MENU_REPORT = "反映问题"
MENU_STATUS = "查询进度"
MENU_POLICY = "政策咨询"
MENU_HUMAN = "转人工"
BUTTON_PHONE = "发送手机号"
BUTTON_LOCATION = "发送位置"


def welcome(first_name: str | None, hotline_phone: str) -> str:
    """The /start greeting."""
    name = f"{first_name}，" if first_name else ""
    return (
        f"{name}您好！这里是社区服务热线 {hotline_phone} 的线上服务。\n"
        "您可以直接用文字告诉我遇到的问题，例如「我家楼下的路灯坏了好几天了」，"
        "我会帮您登记工单并转给负责的部门办理。\n\n"
        "也可以点下方的按钮：反映问题、查询进度、政策咨询、转人工。\n"
        "如遇火灾、燃气泄漏、有人受伤等紧急情况，请立即拨打 119、110 或 120。"
    )


HELP = (
    "使用说明：\n"
    "• 直接发送文字，描述您遇到的问题或想咨询的事项；\n"
    "• 可以发送照片（JPG/PNG，5MB 以内），会附在您最近的工单上；\n"
    "• 点「发送手机号」「发送位置」按钮，可以快速提供联系电话和地点。\n\n"
    "命令：\n"
    "/start 开始并显示菜单\n"
    "/status 查询我的工单进度（/status 工单号 查询某一个）\n"
    "/cancel 取消当前正在填写的内容或转人工排队\n"
    "/human 转人工客服\n"
    "/privacy 个人信息说明\n"
    "/forget 申请删除我的个人信息\n"
    "/help 查看本说明"
)

POLICY_PROMPT = "请直接输入您想了解的政策，例如「高龄津贴怎么申请」「低保需要什么条件」。"


def queued_for_human(position: int) -> str:
    """Reply to /human while the resident waits for an operator."""
    ahead = max(position - 1, 0)
    return (
        f"已为您转接人工客服，正在排队（您前面还有 {ahead} 位），请稍候。"
        "排队期间您可以继续留言，工作人员都能看到。发送 /cancel 可取消排队。"
    )


ALREADY_WITH_OPERATOR = "人工客服正在为您服务，请直接发送消息。"
CANCEL_WITH_OPERATOR = "人工客服正在为您服务。如需结束对话，请告诉客服。"

CONTACT_NOT_OWN = (
    "为保护他人的个人信息，只能提供您本人的手机号。请点击下方的「发送手机号」按钮，"
    "或直接输入您的联系电话。"
)

PHOTO_TOO_LARGE = (
    f"照片太大了，请发送 {MAX_PHOTO_BYTES // (1024 * 1024)}MB 以内的图片（可以截图或压缩后再发）。"
)
PHOTO_UNSUPPORTED = f"暂不支持这种文件，只能接收 {SUPPORTED_LABEL} 格式的照片。"
PHOTO_FAILED = "照片接收失败，请稍后重新发送。"


def photo_saved(case_number: str | None) -> str:
    """Reply after a photo was stored."""
    if case_number:
        return f"照片已收到，已附加到工单 {case_number}，工作人员处理时可以查看。"
    return (
        "照片已收到并保存。您目前没有正在办理的工单，"
        "请用文字描述一下您要反映的问题，工作人员会结合照片一起处理。"
    )


UNSUPPORTED = (
    "抱歉，暂时无法处理语音、贴纸、视频或文件。请用文字描述您的问题；"
    "也可以发送照片，或点按钮发送手机号和位置。"
)
EDITED_IGNORED = "提示：修改已发送的消息不会被处理。如需补充或更正，请直接发送一条新消息。"
BUTTON_EXPIRED = "这个按钮已失效，请直接发送文字告诉我您的需要。"
CHOOSE = "请选择："

# Operators' group
ALERT_ACCEPT = "受理"
ALERT_NOT_LINKED = "只有绑定了热线工作人员账号的用户才能受理工单。"
ALERT_ACCEPTED = "已受理"
ALERT_TOO_LATE = "该工单已被受理或状态已变化，请在工作台查看。"
ALERT_NOT_FOUND = "工单不存在。"
