"""The texts simulated residents send in the report conversation; standard library only.

Real residents never send the same text twice, so a fixed script would only measure the
encoder's cache. Both the HTTP load (``bench.load``) and the in-process CPU measurement
(``bench.agent_cpu``, run in Rasa's environment) take their texts from here.
"""

from __future__ import annotations

_PROBLEMS = (
    "我家楼下的路灯坏了",
    "小区门口那盏路灯晚上不亮",
    "关于楼下路灯长期不亮的问题",
    "反映小区东门路灯损坏",
    "楼道外面的路灯一直不亮",
    "路边的灯坏了没人修",
    "请求维修路灯",
    "停车场旁边的路灯坏了",
)
_REMARKS = (
    "好几天了",
    "已经一个星期了",
    "晚上黑乎乎的",
    "走路容易摔跤",
    "孩子放学回来看不清路",
    "不知道归谁管",
    "之前打过电话没人来",
    "希望尽快修一下",
    "晚上出门得打手电",
    "快半个月了",
)


def report_text(n: int) -> str:
    """A different first message for each conversation, as different residents write.

    Real residents never send the same text twice, so a fixed script would only measure the
    encoder's cache; 8 × 10 × 10 combinations keep every text of a run new.
    """
    problem = _PROBLEMS[n % len(_PROBLEMS)]
    first = _REMARKS[(n // len(_PROBLEMS)) % len(_REMARKS)]
    second = _REMARKS[(n // len(_PROBLEMS) // len(_REMARKS) + 1 + n) % len(_REMARKS)]
    return f"{problem}，{first}" if first == second else f"{problem}，{first}，{second}"


def place_text(n: int) -> str:
    """A different answer to the place question for each conversation."""
    return f"幸福小区{n % 40 + 1}栋{n % 3 + 1}单元门口"
