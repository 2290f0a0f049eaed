"""A realistic week of hotline work for the dashboard screenshot, made through the core's own
workflow (create_case, apply_action, log_consultation, handoff), with a fixed random seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case
from hotline.casework.routing import faq_topics
from hotline.channels import handoff
from hotline.errors import HotlineError
from hotline.models import User
from hotline.residents.resident import log_consultation

REPORTS = [
    ("city_management", "小区门口路灯坏了一个星期，晚上出行不安全", 14),
    ("city_management", "夜市油烟和噪音很大，晚上十一点还在营业", 10),
    ("property_housing", "楼上漏水到我家厨房，物业一直不处理", 11),
    ("property_housing", "电梯经常停运，老人上下楼困难", 7),
    ("elderly_care", "母亲82岁独居，想申请社区助餐服务", 8),
    ("employment", "公司拖欠三个月工资，老板不回消息", 6),
    ("mediation", "邻居装修噪音扰民，协商无果", 6),
    ("social_assistance", "家里老人生病，想申请临时救助", 5),
    ("public_security", "楼道里连续几天有陌生人徘徊", 4),
    ("public_health", "社区卫生服务站疫苗预约不上", 4),
    ("social_security", "社保卡丢失需要补办", 3),
    ("household_services", "想找社区推荐的家政保洁", 3),
    ("legal_aid", "离婚纠纷想申请法律援助", 2),
    ("disability", "残疾人两项补贴一直没到账", 2),
]
PLACES = ["幸福小区", "光谷花园", "钟家村社区", "民权街", "中南路街", "金银湖街道", "红钢城"]
RATINGS = (
    ["very_satisfied"] * 6 + ["satisfied"] * 5 + ["basically_satisfied"] * 2 + ["dissatisfied"] * 2
)
OPERATORS = [("chenjing", "陈静"), ("liming", "李明"), ("zhaoli", "赵丽")]


def _act(
    session: Session, case: object, action: str, actor: Actor, when: datetime, **params: str | int
) -> bool:
    try:
        apply_action(session, case, action, actor, ActionInput(**params), now=when)  # type: ignore[arg-type]
    except HotlineError:
        return False
    return True


def seed_demo(session: Session, now: datetime, days: int = 7) -> int:
    """Creates about 90 cases over the ``days`` days before ``now``; returns how many."""
    rng = random.Random(20261124)
    users = []
    for username, display in OPERATORS:
        user = User(username=username, display_name=display, role="operator", password_hash="x")
        session.add(user)
        users.append(user)
    session.flush()
    actors = [Actor.operator(u.username, u.id) for u in users]
    weights = [w for _, _, w in REPORTS]
    count = 0
    for _ in range(72):
        category, text, _ = rng.choices(REPORTS, weights=weights)[0]
        created = now - timedelta(hours=rng.uniform(2, days * 24 - 1))
        channel = rng.choice(["phone", "phone", "telegram", "web", "telegram"])
        resident = (
            None
            if channel == "phone"
            else f"{'tg' if channel == 'telegram' else 'web'}:demo{count}"
        )
        place = f"{rng.choice(PLACES)}{rng.randint(1, 20)}栋"
        urgency = "urgent" if rng.random() < 0.18 else "normal"
        case, _ = create_case(
            session,
            NewCase(
                category=category if rng.random() > 0.1 else "other",
                description=text,
                phone=f"13{rng.randint(100000000, 999999999)}",
                location=place,
                channel=channel,
                resident_ref=resident,
                contact_name=rng.choice(["张女士", "李先生", "王阿姨", "刘先生"]),
                case_type=rng.choice(["help", "help", "complaint", "consultation"]),
                urgency=urgency,
            ),
            Actor.resident(resident) if resident else actors[0],
            now=created,
        )
        count += 1
        actor = rng.choice(actors)
        age_hours = (now - created).total_seconds() / 3600
        step = created + timedelta(minutes=rng.uniform(3, 90))
        if step > now or rng.random() < 0.08:
            continue
        _act(session, case, "accept", actor, step)
        _act(session, case, "claim", actor, step)
        if case.category == "other":
            _act(session, case, "reroute", actor, step, category=category, note="按居民描述改派")
        step += timedelta(minutes=rng.uniform(5, 120))
        if step > now:
            continue
        _act(session, case, "dispatch", actor, step)
        if rng.random() < 0.1:
            step += timedelta(hours=rng.uniform(2, 20))
            if step < now:
                _act(
                    session,
                    case,
                    "return",
                    Actor.system("office"),
                    step,
                    note="不属于本单位职责，请改派",
                )
            continue
        if urgency == "urgent" and age_hours > 30 and rng.random() < 0.7:
            _act(session, case, "start", actor, step + timedelta(hours=1))
            _act(
                session,
                case,
                "note",
                actor,
                step + timedelta(hours=3),
                note=rng.choice(
                    ["已联系物业，等待更换配件", "承办单位人手不足，已催办", "需多部门会商"]
                ),
            )
            continue
        if rng.random() < 0.12 and age_hours > 48:
            _act(session, case, "start", actor, step + timedelta(hours=1))
            _act(
                session,
                case,
                "extend",
                actor,
                step + timedelta(hours=2),
                days=3,
                note="需协调产权单位，申请延期",
            )
        finish = step + timedelta(hours=rng.uniform(4, 110 if urgency == "normal" else 40))
        if finish > now:
            continue
        _act(session, case, "resolve", actor, finish, note="已处理完毕，经回访问题解决")
        if resident and rng.random() < 0.75:
            rating = rng.choice(RATINGS)
            _act(
                session,
                case,
                "rate",
                Actor.resident(resident),
                finish + timedelta(hours=rng.uniform(1, 6)),
                rating=rating,
            )
        elif rng.random() < 0.5:
            _act(session, case, "close", actor, finish + timedelta(hours=8))

    topics = list(faq_topics().values())
    for i in range(20):
        topic = topics[min(int(rng.expovariate(0.35)), len(topics) - 1)]
        when = now - timedelta(hours=rng.uniform(1, days * 24 - 1))
        log_consultation(
            session,
            sender_id=f"tg:faq{i}",
            channel="telegram",
            text=f"请问{topic.title}怎么办理？",
            category=topic.category,
            topic=topic.topic,
            title=topic.title,
            now=when,
        )
        count += 1
    for i in range(14):
        sender = f"web:chat{i}"
        asked = now - timedelta(hours=rng.uniform(1, days * 24 - 1))
        handoff.record_message(session, sender, handoff.IN, "resident", "你好", now=asked)
        if i % 3 == 0:
            handoff.request_handoff(session, sender, now=asked)
            handoff.take(
                session, sender, users[i % 3], now=asked + timedelta(minutes=rng.uniform(1, 12))
            )
            handoff.release(session, sender)
    session.flush()
    return count
