"""The report form takes the resident's answers (issue 11, "Forms take the resident's answers").

Every pattern the issue names, in the spoken and the written register, through the REST channel
of the real Rasa server and action server. Each conversation checks that no reply asks for two
different slots, and that exactly one case is logged with the resident's words and answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy import text as sa_text

from hotline.casework.case_vectors import pack
from hotline.casework.catalogue import get_catalogue
from hotline.config import PROJECT_ROOT
from hotline.db import transaction
from hotline.models import Case, CaseVector
from hotline.text_encoder import SHARED_VECTOR, shared_vector
from tests.dialogue.conversation import Conversation, Reply, texts
from tests.servers import Stack

pytestmark = pytest.mark.slow


DEFAULT = "抱歉，我没太明白"
OUT_OF_SCOPE = "不在社区服务热线的服务范围内"
FAQ_ANSWER = "（示例答复"
CONFIRMED = "已为您登记，工单编号"
ROUTED = "收到。您反映的是「"


@lru_cache(maxsize=1)
def _responses() -> dict[str, str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0]["text"] for name, variants in domain["responses"].items()}


@lru_cache(maxsize=1)
def _questions() -> dict[str, tuple[str, ...]]:
    """What a reply says when it asks for each of the report form's slots.

    The form's own questions (utter_ask_* and the action_ask_* actions), and the validators'
    requests to answer again.
    """
    r = _responses()
    return {
        "category": ("请问您的问题属于哪一类", "没有找到这个类别"),
        "location": (r["utter_ask_location"], "位置不够具体"),
        "phone": (r["utter_ask_phone"], "请输入11位手机号"),
        "contact_name": (r["utter_ask_contact_name"],),
        "confirmed": ("请核对登记信息", "请问要修改哪一项"),
    }


def asked_slots(replies: Reply) -> list[str]:
    """The slots a reply asks for, in order of the form."""
    text = texts(replies)
    return [slot for slot, marks in _questions().items() if any(m in text for m in marks)]


def _buttons(replies: Reply) -> list[dict[str, str]]:
    return [b for r in replies for b in r.get("buttons") or []]


@dataclass
class Talk(Conversation):
    """One resident's conversation; every reply is checked to ask at most one question."""

    def check(self, replies: Reply) -> None:
        """No reply asks for two different slots."""
        asked = asked_slots(replies)
        assert len(asked) <= 1, f"one reply asks for {asked}:\n{self.transcript()}"

    def cases(self, *, consultations: bool = False) -> list[Case]:
        """The reports logged for this resident (or the answered policy questions)."""
        return [c for c in self.all_cases() if (c.faq_topic is not None) == consultations]


def route(talk: Talk, replies: Reply, acceptable: set[str]) -> Reply:
    """Checks the first reply routed the report: confidently to an acceptable category, or
    with an acceptable one among the buttons, which is then chosen."""
    text = texts(replies)
    assert DEFAULT not in text and OUT_OF_SCOPE not in text, talk.transcript()
    assert FAQ_ANSWER not in text, talk.transcript()
    names = {get_catalogue().get(code).name: code for code in acceptable}
    if ROUTED in text:
        routed = text.split(ROUTED, 1)[1].split("」", 1)[0]
        assert routed in names, f"routed to {routed}, expected one of {sorted(names)}"
        return replies
    assert asked_slots(replies) == ["category"], talk.transcript()
    offered = [b["payload"] for b in _buttons(replies)]
    chosen = next((p for p in offered for code in acceptable if f'"{code}"' in p), None)
    assert chosen is not None, f"none of {sorted(acceptable)} offered:\n{talk.transcript()}"
    return talk.say(chosen)


def answer_until_summary(
    talk: Talk, replies: Reply, answers: dict[str, str], never_ask: tuple[str, ...] = ()
) -> Reply:
    """Answers each question with ``answers[slot]`` until the summary; each slot asked once."""
    asked: list[str] = []
    for _ in range(8):
        slots = asked_slots(replies)
        assert slots, f"no question in the reply:\n{talk.transcript()}"
        slot = slots[0]
        if slot == "confirmed":
            return replies
        assert slot not in never_ask, f"{slot} asked again:\n{talk.transcript()}"
        assert slot not in asked, f"{slot} asked twice:\n{talk.transcript()}"
        assert slot in answers, f"unexpected question for {slot}:\n{talk.transcript()}"
        asked.append(slot)
        replies = talk.say(answers[slot])
    pytest.fail(f"the form never reached the summary:\n{talk.transcript()}")


def confirm(talk: Talk, replies: Reply, how: str = "/affirm") -> Case:
    """Confirms the summary and returns the one case logged."""
    assert asked_slots(replies) == ["confirmed"], talk.transcript()
    done = texts(talk.say(how))
    assert CONFIRMED in done, talk.transcript()
    cases = talk.cases()
    assert len(cases) == 1, f"{len(cases)} cases:\n{talk.transcript()}"
    return cases[0]


# ---------------------------------------------------------------------------------------------
# A long natural first message that carries a greeting, the place and a phone.

LONG_FIRST = {
    "spoken": "你好，我住滨湖花园5栋，单元门的门禁坏了半个月了，物业不管，我电话13512345678",
    "written": "您好，本人系滨湖花园5栋住户，现反映单元门门禁损坏半月有余、物业公司一直未予处理的"
    "问题，联系电话13512345678。",
}


@pytest.mark.parametrize("register", sorted(LONG_FIRST))
def test_a_long_first_message_keeps_the_place_and_the_phone(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    first = LONG_FIRST[register]
    replies = route(talk, talk.say(first), {"property_housing"})
    summary = answer_until_summary(
        talk, replies, {"contact_name": "孙"}, never_ask=("location", "phone")
    )
    assert "135****5678" in texts(summary)
    case = confirm(talk, summary)
    assert case.description == first
    assert case.category == "property_housing"
    assert "滨湖花园5栋" in case.location
    assert case.phone == "+8613512345678"
    assert case.contact_name == "孙"


# The NLU takes these for form answers (inform): they are still descriptions.
TAKEN_FOR_ANSWERS = {
    "spoken": (
        "你好我是光明路88号的居民，楼下垃圾好几天没人清了，我手机13812345678",
        {"city_management"},
        "光明路88号",
        "+8613812345678",
    ),
    "spoken, with the surname": (
        "我姓孙，住滨湖花园5栋，单元门门禁坏了半个月了，电话13512345678",
        {"property_housing"},
        "滨湖花园5栋",
        "+8613512345678",
    ),
}


@pytest.mark.parametrize("variant", sorted(TAKEN_FOR_ANSWERS))
def test_a_long_first_message_taken_for_an_answer_is_still_a_report(
    rasa_stack: Stack, variant: str
) -> None:
    talk = Talk(rasa_stack)
    first, acceptable, place, phone = TAKEN_FOR_ANSWERS[variant]
    replies = route(talk, talk.say(first), acceptable)
    never = ("location", "phone", "contact_name") if "我姓孙" in first else ("location", "phone")
    summary = answer_until_summary(talk, replies, {"contact_name": "李女士"}, never_ask=never)
    case = confirm(talk, summary)
    assert case.description == first
    assert case.category in acceptable
    assert place in case.location
    assert case.phone == phone
    assert case.contact_name == ("孙" if "我姓孙" in first else "李女士")


# ---------------------------------------------------------------------------------------------
# An everyday complaint with no obvious keyword.

EVERYDAY = {
    "spoken": "小区有人把电动车推进电梯里充电，说了也不听",
    "written": "反映小区内有居民将电动车推入电梯充电、多次劝阻无效的问题",
    # The plain registers: no report verb, no politeness (docs/nlu.md).
    "terse": "楼下烧烤店的油烟天天往三楼灌",
    "angry": "楼下烧烤店油烟熏死人了 窗户都不敢开 说了多少回了 到底有没有人管",
}


@pytest.mark.parametrize("register", sorted(EVERYDAY))
def test_an_everyday_complaint_without_a_keyword_is_a_report(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    first = EVERYDAY[register]
    acceptable = {"property_housing", "public_security", "city_management"}
    replies = route(talk, talk.say(first), acceptable)
    summary = answer_until_summary(
        talk,
        replies,
        {"location": "幸福小区3栋", "phone": "13812345678", "contact_name": "王先生"},
    )
    case = confirm(talk, summary)
    assert case.description == first
    assert case.category in acceptable
    assert (case.location, case.phone, case.contact_name) == (
        "幸福小区3栋",
        "+8613812345678",
        "王先生",
    )


# ---------------------------------------------------------------------------------------------
# An answer taken for an intent: a community name as the place, a one-character surname.

ANSWERS_TAKEN_FOR_INTENTS = {
    "spoken": ("路灯坏了好几天了，晚上黑漆漆的", "滨湖社区", "13912345678", "孙"),
    "written": ("反映辖区道路路灯长期不亮的问题", "滨湖社区", "联系电话：13912345678", "免贵姓孙"),
}


@pytest.mark.parametrize("register", sorted(ANSWERS_TAKEN_FOR_INTENTS))
def test_a_community_name_and_a_one_character_surname_are_answers(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    first, place, phone, name = ANSWERS_TAKEN_FOR_INTENTS[register]
    replies = route(talk, talk.say(first), {"city_management"})
    asked = asked_slots(replies)
    assert asked == ["location"], talk.transcript()
    replies = talk.say(place)
    assert OUT_OF_SCOPE not in texts(replies), talk.transcript()
    assert asked_slots(replies) == ["phone"], talk.transcript()
    replies = talk.say(phone)
    assert asked_slots(replies) == ["contact_name"], talk.transcript()
    replies = talk.say(name)
    assert "好的。还有其他需要帮忙的吗" not in texts(replies), talk.transcript()
    assert asked_slots(replies) == ["confirmed"], talk.transcript()
    assert "称呼：孙" in texts(replies)
    case = confirm(talk, replies)
    assert (case.location, case.phone, case.contact_name) == ("滨湖社区", "+8613912345678", "孙")


# ---------------------------------------------------------------------------------------------
# 我要登记 after an FAQ answer, then a description that sounds like a policy question.

REGISTER_AFTER_FAQ = {
    # The NLU takes this description for a policy question (faq).
    "spoken": ("高龄津贴怎么申请", "我要登记", "我爸的高龄津贴怎么还没发"),
    "spoken, taken for a report": (
        "高龄津贴怎么申请",
        "我要登记",
        "我爸82了，高龄津贴申请了三个月还没发下来",
    ),
    "written": (
        "请问高龄津贴申领需要哪些材料",
        "我要登记",
        "关于我父亲高龄津贴申请三个月仍未发放的问题",
    ),
}


@pytest.mark.parametrize("register", sorted(REGISTER_AFTER_FAQ))
def test_registering_after_an_faq_answer_logs_a_case_not_the_faq_again(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    question, register_words, description = REGISTER_AFTER_FAQ[register]
    assert FAQ_ANSWER in texts(talk.say(question)), talk.transcript()
    assert _responses()["utter_report_start"] in texts(talk.say(register_words)), talk.transcript()
    acceptable = {"elderly_care", "social_security", "social_assistance"}
    replies = route(talk, talk.say(description), acceptable)
    summary = answer_until_summary(
        talk,
        replies,
        {"location": "幸福小区3栋", "phone": "13812345678", "contact_name": "王先生"},
    )
    case = confirm(talk, summary)
    assert case.description == description
    assert case.category in acceptable
    assert case.case_type != "consultation"
    assert [c.description for c in talk.cases(consultations=True)] == [question]


# ---------------------------------------------------------------------------------------------
# 「我不想留电话」: the reason, and the report goes on without a phone.

NO_PHONE = {"spoken": "我不想留电话", "written": "本人不便留下联系方式"}


def _until(talk: Talk, replies: Reply, slot: str, answers: dict[str, str]) -> Reply:
    """Answers questions until the form asks for ``slot``."""
    for _ in range(6):
        asked = asked_slots(replies)
        assert asked, talk.transcript()
        if asked[0] == slot:
            return replies
        assert asked[0] in answers, f"unexpected question for {asked[0]}:\n{talk.transcript()}"
        replies = talk.say(answers[asked[0]])
    pytest.fail(f"{slot} never asked:\n{talk.transcript()}")


@pytest.mark.parametrize("register", sorted(NO_PHONE))
def test_declining_the_phone_gets_the_reason_and_the_report_goes_on(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    first = "幸福小区3栋楼道的灯坏了好几天"
    replies = route(talk, talk.say(first), {"property_housing", "city_management"})
    replies = _until(talk, replies, "phone", {"location": "幸福小区3栋2单元"})
    replies = talk.say(NO_PHONE[register])
    text = texts(replies)
    assert _responses()["utter_phone_declined"] in text, talk.transcript()
    assert "非数字" not in text and "转人工" not in text, talk.transcript()
    assert asked_slots(replies) == ["contact_name"], talk.transcript()
    summary = talk.say("匿名")
    assert "电话：未留" in texts(summary), talk.transcript()
    case = confirm(talk, summary)
    assert case.phone is None
    assert case.contact_name == "匿名"
    assert case.description == first


# ---------------------------------------------------------------------------------------------
# Traditional characters: one coherent question; the case keeps the resident's own words.

TRADITIONAL = {
    "spoken": "我們樓下的路燈壞了很久",
    "written": "關於我們社區路燈長期損壞、夜間無法照明的問題",
}
CONTRADICTIONS = ("没有找到这个类别", "位置不够具体", "请问要修改哪一项")


@pytest.mark.parametrize("register", sorted(TRADITIONAL))
def test_traditional_characters_get_one_question_and_keep_the_original_words(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    first = TRADITIONAL[register]
    replies = talk.say(first)
    text = texts(replies)
    assert not [c for c in CONTRADICTIONS if c in text], talk.transcript()
    assert len(asked_slots(replies)) == 1, talk.transcript()
    replies = route(talk, replies, {"city_management"})
    summary = answer_until_summary(
        talk,
        replies,
        {"location": "幸福小區3棟門口", "phone": "13812345678", "contact_name": "陳先生"},
    )
    assert first in texts(summary), talk.transcript()
    case = confirm(talk, summary)
    assert case.description == first
    assert case.category == "city_management"
    # Answers are the resident's words too.
    assert case.location == "幸福小區3棟門口"
    assert case.contact_name == "陳先生"


# ---------------------------------------------------------------------------------------------
# The written register: a message-board title, then the answers.

WRITTEN = [
    (
        "关于锦绣华庭小区地下车库长期积水的问题",
        {"property_housing", "city_management"},
        {
            "location": "锦绣华庭小区地下车库B区",
            "phone": "联系电话：13712345678",
            "contact_name": "本人姓李",
        },
        "李",
        "确认无误",
    ),
    (
        "请求解决光明路与建设路交叉口红绿灯长期故障的问题",
        {"city_management", "public_security"},
        {
            "location": "光明路与建设路交叉口",
            "phone": "联系方式：027-85671234",
            "contact_name": "匿名",
        },
        "匿名",
        # The NLU takes this for a report.
        "核实无误，请予登记",
    ),
]


@pytest.mark.parametrize(("first", "acceptable", "answers", "name", "confirmation"), WRITTEN)
def test_a_message_board_title_then_the_answers(
    rasa_stack: Stack,
    first: str,
    acceptable: set[str],
    answers: dict[str, str],
    name: str,
    confirmation: str,
) -> None:
    talk = Talk(rasa_stack)
    replies = route(talk, talk.say(first), acceptable)
    summary = answer_until_summary(talk, replies, answers)
    # Typed, not the button: the written register confirms in words.
    case = confirm(talk, summary, how=confirmation)
    assert case.description == first
    assert case.category in acceptable
    assert case.contact_name == name
    assert case.location == answers["location"] or (case.location and case.location in first)
    assert case.phone is not None


# ---------------------------------------------------------------------------------------------
# A remark instead of an answer is replied to, not kept as the answer; the form goes on.

REMARKS = {"spoken": "你是机器人吗", "written": "请问您是人工客服还是机器人"}


@pytest.mark.parametrize("register", sorted(REMARKS))
def test_a_remark_during_the_form_is_answered_not_kept(rasa_stack: Stack, register: str) -> None:
    talk = Talk(rasa_stack)
    replies = route(talk, talk.say("路灯坏了好几天了，晚上黑漆漆的"), {"city_management"})
    assert asked_slots(replies) == ["location"], talk.transcript()
    replies = talk.say(REMARKS[register])
    text = texts(replies)
    assert _responses()["utter_iamabot"] in text, talk.transcript()
    assert asked_slots(replies) == ["location"], talk.transcript()
    summary = answer_until_summary(
        talk,
        replies,
        {"location": "滨湖社区", "phone": "13912345678", "contact_name": "孙"},
    )
    case = confirm(talk, summary)
    assert (case.location, case.contact_name) == ("滨湖社区", "孙")


def test_only_the_message_right_after_registering_is_taken_as_the_description(
    rasa_stack: Stack,
) -> None:
    talk = Talk(rasa_stack)
    assert _responses()["utter_report_start"] in texts(talk.say("我要登记")), talk.transcript()
    talk.say("查询进度")
    # A policy question later on is answered, not logged as a report.
    replies = talk.say("高龄津贴怎么申请")
    assert FAQ_ANSWER in texts(replies), talk.transcript()
    assert asked_slots(replies) == [], talk.transcript()
    assert talk.cases() == []


def test_a_place_mentioned_while_asked_for_the_phone_keeps_the_place_given(
    rasa_stack: Stack,
) -> None:
    talk = Talk(rasa_stack)
    first = "建议在滨湖社区增设老年食堂"
    replies = route(talk, talk.say(first), {"elderly_care"})
    assert asked_slots(replies) == ["phone"], talk.transcript()
    # Where the resident lives (the NLU extracts 幸福小区) is not where the problem is.
    replies = talk.say("我住幸福小区")
    assert asked_slots(replies) == ["phone"], talk.transcript()
    replies = talk.say("我不方便留电话")
    assert asked_slots(replies) == ["contact_name"], talk.transcript()
    summary = talk.say("孙")
    assert "地点：滨湖社区\n" in texts(summary), talk.transcript()
    case = confirm(talk, summary)
    assert (case.location, case.phone, case.case_type) == ("滨湖社区", None, "suggestion")


# ---------------------------------------------------------------------------------------------
# Words the entity extractor tags as a place (反映小区, 看不清路) are not the resident's place:
# the form asks for it, and the case keeps the place the resident then gives.

NOT_A_PLACE = {
    "spoken": "小区东门路灯坏了，孩子放学回来看不清路",
    "written": "反映小区东门路灯损坏，晚上出门得打手电",
}


@pytest.mark.parametrize("register", sorted(NOT_A_PLACE))
def test_words_tagged_as_a_place_are_not_taken_for_the_place(
    rasa_stack: Stack, register: str
) -> None:
    talk = Talk(rasa_stack)
    replies = route(talk, talk.say(NOT_A_PLACE[register]), {"city_management", "property_housing"})
    assert asked_slots(replies) == ["location"], talk.transcript()
    place = "幸福小区7栋东门"
    summary = answer_until_summary(
        talk, talk.say(place), {"phone": "13812345678", "contact_name": "刘女士"}
    )
    assert confirm(talk, summary).location == place


# ---------------------------------------------------------------------------------------------
# The report's embedding travels from Rasa to the action server (nlu_components.encoder).


def test_a_report_carries_its_embedding_and_the_case_stores_that_vector(
    rasa_stack: Stack,
) -> None:
    talk = Talk(rasa_stack)
    first = "小区北门的路灯坏了好几天，晚上看不清路"
    replies = route(talk, talk.say(first), {"city_management"})
    summary = answer_until_summary(
        talk,
        replies,
        {"location": "幸福小区7栋", "phone": "13912345678", "contact_name": "孙"},
    )
    case = confirm(talk, summary)
    engine = create_engine(rasa_stack.tracker_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa_text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": talk.sender},
            ).scalars()
            shared = [
                json.loads(row)["parse_data"].get(SHARED_VECTOR)
                for row in rows
                if json.loads(row)["text"] == first
            ]
    finally:
        engine.dispose()
    assert len(shared) == 1 and shared[0] is not None, talk.transcript()
    vector = shared_vector(shared[0])
    assert vector is not None
    with transaction(rasa_stack.db_url) as session:
        stored = session.get(CaseVector, case.id)
        # The place was given apart: the stored vector is the one Rasa made of the report.
        assert stored is not None and stored.vector == pack(vector)
