"""Hostile input on the resident web chat (/chat/send), relayed to a fake Rasa.

Whatever a resident's page sends, the answer is a reply or a clear Chinese refusal: never a 500
nor a trace. The rate limit holds per sender.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotline.channels.gateway import MAX_MESSAGE_CHARS, RATE_LIMIT_PER_MINUTE
from tests.bad_input.conftest import ChatResident, assert_chinese, assert_no_leak
from tests.bad_input.strategies import MALFORMED_JSON, NAMED, hostile_text
from tests.bot.fake_rasa import FakeRasa

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(text=hostile_text())
@example(text=NAMED[0])
def test_any_text_gets_a_reply_or_a_chinese_refusal(chat_env: FakeRasa, text: str) -> None:
    resident = ChatResident()
    try:
        response = resident.say(text, "m-1")
    finally:
        resident.close()
    assert_no_leak(response.text)
    body = response.json()
    cleaned = text.replace("\x00", "").strip()
    if not cleaned or len(text) > 4000:
        assert response.status_code == 400, response.text
        assert_chinese(body["error"]["message"])
        return
    assert response.status_code == 200, response.text
    replies = [r["text"] for r in body["replies"]]
    assert replies, body
    if len(cleaned) > MAX_MESSAGE_CHARS:
        assert f"只保留了前 {MAX_MESSAGE_CHARS} 字" in replies[0]
    assert replies[-1] == f"收到：{cleaned[:MAX_MESSAGE_CHARS]}"


@pytest.mark.parametrize("body", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json_is_a_chinese_400(chat_env: FakeRasa, body: bytes) -> None:
    resident = ChatResident()
    try:
        response = resident.post_raw(body)
    finally:
        resident.close()
    assert response.status_code in (400, 413), response.text
    assert_no_leak(response.text)
    assert_chinese(response.json()["error"]["message"])
    assert chat_env.messages() == []


@pytest.mark.parametrize(
    "payload",
    [{"text": 5}, {"text": None}, {"text": ["a"]}, {"text": "好", "id": "x" * 65}, {"txt": "好"}],
)
def test_wrong_shapes_are_a_chinese_400(chat_env: FakeRasa, payload: dict[str, object]) -> None:
    resident = ChatResident()
    try:
        response = resident.client.post(
            "/chat/send", json=payload, headers={"X-CSRF-Token": resident.token}
        )
    finally:
        resident.close()
    assert response.status_code == 400, response.text
    assert_no_leak(response.text)
    assert_chinese(response.json()["error"]["message"])


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(message_id=st.text(min_size=1, max_size=64))
def test_any_message_id_is_accepted_once(chat_env: FakeRasa, message_id: str) -> None:
    resident = ChatResident()
    try:
        first = resident.say("路灯坏了", message_id)
        again = resident.say("路灯坏了", message_id)
    finally:
        resident.close()
    assert first.status_code == again.status_code == 200
    assert again.json()["replies"] == []


def test_rate_limit_holds_per_sender(chat_env: FakeRasa) -> None:
    flooder, neighbour = ChatResident(), ChatResident()
    try:
        answers = [flooder.say(f"第{i}条", f"f-{i}").json()["replies"] for i in range(25)]
        refused = [a for a in answers if "太频繁" in a[0]["text"]]
        assert len(refused) == 25 - RATE_LIMIT_PER_MINUTE
        assert all("太频繁" in a[0]["text"] for a in answers[RATE_LIMIT_PER_MINUTE:])
        # A button payload counts the same; it cannot slip past the limit.
        assert "太频繁" in flooder.say("/affirm", "f-btn").json()["replies"][0]["text"]
        # Another resident is not slowed down by the flood.
        assert neighbour.say("你好", "n-1").json()["replies"][0]["text"] == "收到：你好"
    finally:
        flooder.close()
        neighbour.close()
    assert len(chat_env.messages(flooder.sender)) == RATE_LIMIT_PER_MINUTE
