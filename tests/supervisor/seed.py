"""A small, fully known world of cases for the supervisor tests.

Every timestamp is set by hand, relative to the first day of a 7-day period, so that each
figure of the dashboard can be worked out on paper (see tests/supervisor/test_stats.py).

Cases (local time, day 0 is the period's first day):

====  ==================  =========  ========  ===========  ===========  ======  ===========
case  category (orig.)    created    accepted  resolved     due          status  rating
====  ==================  =========  ========  ===========  ===========  ======  ===========
A     city_management     d1 09:00   d1 10:00  d3 09:00     d4 23:59:59  closed  very_sat.
B     city_management     d1 12:00   d1 15:00  d4 12:00     d2 12:00     resolv  —
C     social_assistance   d2 08:00   d2 08:30  d5 08:00     d9 23:59:59  in_pro  dissatisf.
      (elderly_care)                                                     reopened once
D     employment          d3 10:00   d3 11:00  —            d4 10:00     return  —
E     employment          d-2 09:00  d0 09:00  d5 20:00     d5 23:59:59  closed  satisfied
F     social_assistance   d4 14:00   —         d4 14:00     d7 23:59:59  closed  — (FAQ)
G     public_security     d0 00:10   —         —            d20          new     —
H     public_security     d7 00:30   —         —            d20          new     —
====  ==================  =========  ========  ===========  ===========  ======  ===========

Offices: A, B 城管执法中队; C 民政办; D, E 劳动保障所; F 民政办; G, H 派出所.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case, record_event
from hotline.models import Case, Conversation, ConversationMessage, User
from hotline.reporting.periods import Period

TZ = ZoneInfo("Asia/Shanghai")
CITY = "城管执法中队"
CIVIL = "民政办"
LABOUR = "劳动保障所"
POLICE = "派出所"
PHONES = {
    "A": "13812345678",
    "B": "13900001111",
    "C": "13700002222",
    "D": "027-85671234",
    "E": "18600003333",
}
NAMES = {"A": "张三丰", "B": "李四", "C": "王五", "D": "赵六", "E": "钱七"}


@dataclass
class World:
    """What the seed made."""

    period: Period
    now: datetime
    numbers: dict[str, str]


def local(day0: date, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware local instant ``day`` days after ``day0``."""
    return datetime.combine(day0 + timedelta(days=day), time(hour, minute, second), tzinfo=TZ)


def seed(session: Session, day0: date) -> World:
    """Creates the cases, users, events and conversations described above."""
    users = {}
    for username, display in (("wang", "王芳"), ("li", "李明")):
        user = User(username=username, display_name=display, role="operator", password_hash="x")
        session.add(user)
        users[username] = user
    session.flush()
    wang, li = Actor.operator("wang", users["wang"].id), Actor.operator("li", users["li"].id)

    def make(key: str, intake: str, created: datetime, **fields: object) -> Case:
        faq = fields.pop("faq_topic", None)
        case, _ = create_case(
            session,
            NewCase(
                category=intake,
                description=f"测试工单{key}：居民反映的问题，联系电话{PHONES.get(key, '')}",
                phone=PHONES.get(key),
                contact_name=NAMES.get(key),
                location=f"幸福小区{ord(key) - 64}栋",
                channel="phone" if key in "ABDE" else "web",
                resident_ref=None if key in "ABDE" else f"web:resident-{key}",
                case_type="consultation" if faq else "help",
                faq_topic=faq,  # type: ignore[arg-type]
            ),
            Actor.system("seed"),
            now=created,
        )
        for name, value in fields.items():
            setattr(case, name, value)
        return case

    d = day0
    a = make(
        "A",
        "city_management",
        local(d, 1, 9),
        department=CITY,
        status="closed",
        accepted_at=local(d, 1, 10),
        resolved_at=local(d, 3, 9),
        closed_at=local(d, 3, 10),
        due_at=local(d, 4, 23, 59, 59),
        satisfaction="very_satisfied",
        assignee_id=users["wang"].id,
    )
    b = make(
        "B",
        "city_management",
        local(d, 1, 12),
        department=CITY,
        status="resolved",
        accepted_at=local(d, 1, 15),
        resolved_at=local(d, 4, 12),
        due_at=local(d, 2, 12),
        assignee_id=users["wang"].id,
    )
    c = make(
        "C",
        "elderly_care",
        local(d, 2, 8),
        category="social_assistance",
        department=CIVIL,
        status="in_progress",
        accepted_at=local(d, 2, 8, 30),
        resolved_at=local(d, 5, 8),
        due_at=local(d, 9, 23, 59, 59),
        satisfaction="dissatisfied",
        reopen_count=1,
        flagged=True,
        assignee_id=users["li"].id,
    )
    dd = make(
        "D",
        "employment",
        local(d, 3, 10),
        department=LABOUR,
        status="returned",
        accepted_at=local(d, 3, 11),
        dispatched_at=local(d, 3, 12),
        due_at=local(d, 4, 10),
        assignee_id=users["wang"].id,
    )
    e = make(
        "E",
        "employment",
        local(d, -2, 9),
        department=LABOUR,
        status="closed",
        accepted_at=local(d, 0, 9),
        resolved_at=local(d, 5, 20),
        closed_at=local(d, 6, 9),
        due_at=local(d, 5, 23, 59, 59),
        satisfaction="satisfied",
        extended=True,
        extension_reason="需要补充材料",
        assignee_id=users["li"].id,
    )
    f = make(
        "F",
        "social_assistance",
        local(d, 4, 14),
        faq_topic="dibao_tiaojian",
        department=CIVIL,
        status="closed",
        resolved_at=local(d, 4, 14),
        closed_at=local(d, 4, 14),
        due_at=local(d, 7, 23, 59, 59),
    )
    g = make("G", "public_security", local(d, 0, 0, 10), department=POLICE, due_at=local(d, 20, 12))
    h = make("H", "public_security", local(d, 7, 0, 30), department=POLICE, due_at=local(d, 20, 12))

    def event(
        case: Case,
        actor: Actor,
        action: str,
        when: datetime,
        note: str | None = None,
    ) -> None:
        record_event(session, case, actor, action, note=note, now=when)

    event(a, wang, "accept", local(d, 1, 10))
    event(a, wang, "resolve", local(d, 3, 9), "路灯已修复")
    event(a, li, "reveal_phone", local(d, 1, 11), "查看完整联系电话")
    event(b, wang, "accept", local(d, 1, 15))
    event(b, wang, "resolve", local(d, 4, 12), "已清理")
    event(c, li, "accept", local(d, 2, 8, 30))
    event(c, li, "reroute", local(d, 2, 8, 40), "属于社会救助")
    event(c, li, "resolve", local(d, 5, 8), "已上门")
    event(dd, wang, "accept", local(d, 3, 11))
    event(dd, wang, "dispatch", local(d, 3, 12))
    event(dd, Actor.operator("labour-office"), "note", local(d, 3, 13), "先电话联系居民")
    event(dd, Actor.system("office"), "return", local(d, 3, 14), "不属于本单位职责")
    event(e, li, "accept", local(d, 0, 9))
    event(e, li, "extend", local(d, 2, 9), "需要补充材料")
    event(e, li, "resolve", local(d, 5, 20), "已补发")
    event(e, li, "note", local(d, -1, 9), "周期外的备注")

    # Conversations: s1 and s2 asked for a human in the period, s3 did not, s4 spoke before.
    for sender, said_day, requested, taken in (
        ("web:s1", 2, local(d, 2, 10), local(d, 2, 10, 4)),
        ("web:s2", 3, local(d, 3, 9), local(d, 3, 9, 10)),
        ("web:s3", 4, None, None),
        ("web:s4", -3, local(d, -3, 9), local(d, -3, 9, 30)),
    ):
        session.add(
            Conversation(
                sender_id=sender,
                channel="web",
                mode="bot",
                requested_at=requested,
                taken_at=taken,
                handoff_count=1 if requested else 0,
                last_message_at=local(d, said_day, 9),
            )
        )
        session.add(
            ConversationMessage(
                sender_id=sender,
                direction="in",
                author="resident",
                text="你好，我的电话是13812345678",
                created_at=local(d, said_day, 9),
            )
        )
    session.flush()
    numbers = {k: v.number for k, v in zip("ABCDEFGH", (a, b, c, dd, e, f, g, h), strict=True)}
    return World(period=Period(d, d + timedelta(days=6), TZ), now=local(d, 6, 12), numbers=numbers)
