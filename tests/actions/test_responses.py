"""The responses the actions send: each exists in domain.yml and gets what its text needs.

Fixed wording lives in domain.yml and the actions send it with
``dispatcher.utter_message(response="utter_…", number=…)``; Rasa fills each ``{placeholder}``
of the response from those keyword arguments, else from a slot, and shows a placeholder it
cannot fill as it is. Reading ``actions/*.py`` (no Rasa needed), these tests check every such
call: the response exists, every placeholder is passed or is a slot, and every argument passed
fills a placeholder.

A call whose ``response=`` is not written out (``response=outcome``) may send any response
named in its function (``apologise``'s ``Literal``, the names ``withdraw`` returns) or in the
module-level values that function uses (``_SMALL_TALK``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from actions.common import as_value
from hotline.config import PROJECT_ROOT
from tests.actions.conftest import PLACEHOLDER, rendered, utterance

ACTIONS = PROJECT_ROOT / "actions"
RESPONSE_NAME = re.compile(r"utter_[a-z0-9_]+")
NOT_VARIABLES = frozenset(
    {"text", "image", "json_message", "template", "response", "attachment", "buttons", "elements"}
)
"""``utter_message``'s own parameters: the rest of its keyword arguments fill placeholders."""


@dataclass(frozen=True)
class Call:
    """One ``utter_message(response=…)`` in the actions."""

    where: str
    responses: frozenset[str]
    variables: frozenset[str]
    spread: bool
    """Whether the call passes ``**kwargs`` (whose names cannot be read)."""


def response_names(node: ast.AST) -> set[str]:
    """The response names written as string literals anywhere in ``node``."""
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and RESPONSE_NAME.fullmatch(n.value)
    }


def outer_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods (nested functions stay inside theirs)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (
                n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            )


def module_values(tree: ast.Module) -> dict[str, ast.AST]:
    """What each module-level name is assigned."""
    values: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            values[node.target.id] = node.value
    return values


def calls_in(path: Path) -> Iterator[Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    values = module_values(tree)
    for function in outer_functions(tree):
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "utter_message"
            ):
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
            if "response" not in keywords:
                continue
            names = response_names(keywords["response"])
            if not names:
                # Chosen at run time: any name the function, or a module value it uses, has.
                used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
                names = response_names(function).union(
                    *(response_names(values[n]) for n in used & values.keys())
                )
            yield Call(
                where=f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}",
                responses=frozenset(names),
                variables=frozenset(keywords.keys() - NOT_VARIABLES),
                spread=any(k.arg is None for k in node.keywords),
            )


@lru_cache(maxsize=1)
def response_calls() -> tuple[Call, ...]:
    return tuple(call for path in sorted(ACTIONS.glob("*.py")) for call in calls_in(path))


def named_in_actions() -> dict[str, set[str]]:
    """Every response name written in the actions, and the files that write it."""
    named: dict[str, set[str]] = {}
    for path in sorted(ACTIONS.glob("*.py")):
        for name in response_names(ast.parse(path.read_text(encoding="utf-8"))):
            named.setdefault(name, set()).add(path.name)
    return named


def placeholders(domain: dict[str, Any], response: str) -> set[str]:
    """The ``{placeholders}`` in a response's texts, as Rasa's interpolator reads them."""
    return {
        match
        for variant in domain["responses"][response]
        for match in PLACEHOLDER.findall(str(variant.get("text") or ""))
    }


def slot_names(domain: dict[str, Any]) -> set[str]:
    return set(domain["slots"]) | {"requested_slot"}


def test_the_actions_send_responses() -> None:
    calls = response_calls()
    assert len(calls) > 40
    assert all(call.responses for call in calls), [c.where for c in calls if not c.responses]


def test_every_response_named_in_the_actions_is_in_the_domain(domain) -> None:
    missing = {name: files for name, files in named_in_actions().items()}
    for name in domain["responses"]:
        missing.pop(name, None)
    assert missing == {}


def test_every_response_named_in_the_actions_is_sent_by_a_call() -> None:
    """A name the tracing above cannot connect to a call would escape the checks below."""
    sent = set().union(*(call.responses for call in response_calls()))
    assert set(named_in_actions()) - sent == set()


def test_every_placeholder_is_passed_or_is_a_slot(domain) -> None:
    slots = slot_names(domain)
    unfilled = [
        (call.where, response, sorted(placeholders(domain, response) - call.variables - slots))
        for call in response_calls()
        if not call.spread
        for response in sorted(call.responses)
        if response in domain["responses"]
        and placeholders(domain, response) - call.variables - slots
    ]
    assert unfilled == []


def test_every_argument_fills_a_placeholder(domain) -> None:
    """A misspelt argument (``numbr=``) would leave its placeholder to a slot, or unfilled."""
    unused = [
        (call.where, sorted(call.variables - set().union(*filled)))
        for call in response_calls()
        if (filled := [placeholders(domain, r) for r in call.responses if r in domain["responses"]])
        and call.variables - set().union(*filled)
    ]
    assert unused == []


def test_arguments_are_not_named_like_slots(domain) -> None:
    """A placeholder is filled by the code or by a slot, never both: forgetting the argument
    would otherwise show the slot's value (``{phone}`` is the resident's own number)."""
    shadowing = [
        (call.where, sorted(call.variables & slot_names(domain)))
        for call in response_calls()
        if call.variables & slot_names(domain)
    ]
    assert shadowing == []


def test_no_call_spreads_its_arguments() -> None:
    assert [call.where for call in response_calls() if call.spread] == []


def test_placeholders_are_not_utter_message_parameters(domain) -> None:
    clashing = {
        name: sorted(found)
        for name in domain["responses"]
        if (found := placeholders(domain, name) & (NOT_VARIABLES | {"custom"}))
    }
    assert clashing == {}


@pytest.mark.parametrize(
    ("message", "wording"),
    [
        (
            utterance("utter_storage_apology", hotline_phone="12343"),
            "非常抱歉，系统暂时无法保存您的信息。您的反映已经记录下来，"
            "系统恢复后会立即登记并把工单编号发给您。如情况紧急，请拨打热线 12343。",
        ),
        (
            utterance("utter_lookup_apology", hotline_phone="12343"),
            "抱歉，系统暂时无法查询，请稍后再试，或拨打热线 12343。",
        ),
        (
            utterance("utter_too_many_lookups", hotline_phone="12343"),
            "查询尝试次数过多，请稍后再试。查询自己反映的工单无需验证，可直接发送「查询」；"
            "其他情况请拨打热线 12343。",
        ),
        (
            utterance("utter_case_not_found", number="SQ20250609-0002"),
            "没有找到工单 SQ20250609-0002，或您无权查看。请核对工单编号。",
        ),
        (
            utterance("utter_withdraw_refused", number="SQ20250609-0001"),
            "工单 SQ20250609-0001 已派单办理，不能撤回。如有疑问可以转人工。",
        ),
        (
            utterance("utter_emergency_logged", number="SQ20250609-0001"),
            "已按紧急事项登记，工单编号：SQ20250609-0001，值班人员会优先处理。",
        ),
        (
            utterance("utter_emergency_location_recorded", place="幸福小区3栋2单元"),
            "位置已记录：幸福小区3栋2单元。请保持电话畅通，注意安全，先拨打紧急电话求助。",
        ),
        (
            utterance("utter_routed", category_name="城市管理", department="街道城管执法中队"),
            "收到。您反映的是「城市管理」方面的问题，将由「街道城管执法中队」负责办理。",
        ),
        (
            utterance("utter_phone_invalid", problem="「12345」不是有效的手机号或固定电话"),
            "「12345」不是有效的手机号或固定电话。请输入11位手机号，或带区号的固话，"
            "例如 027-85671234。",
        ),
        (utterance("utter_field_again", field_label="地点"), "好的，请重新提供地点。"),
        (
            utterance("utter_handoff_queued", ahead=0),
            "正在为您转接人工客服，您前面还有 0 位，请稍候。等待期间您的留言工作人员都能看到。",
        ),
        (
            utterance("utter_rated", rating_label="满意", number="SQ20250609-0001"),
            "感谢您的评价（满意），工单 SQ20250609-0001 已归档。",
        ),
    ],
    ids=lambda value: value["response"] if isinstance(value, dict) else "",
)
def test_residents_read_the_same_words(message: dict[str, Any], wording: str) -> None:
    assert rendered(message) == wording


def test_a_residents_own_words_cannot_turn_a_response_into_its_template() -> None:
    # Rasa 3.6 sends the bare template when a filled text contains 「0[」.
    place = as_value("幸福路10[3]号")
    text = rendered(utterance("utter_emergency_location_recorded", place=place))
    assert "0[" not in text
    assert text.startswith("位置已记录：幸福路10［3]号。")
