"""What the encoder skips: texts too short to mean anything, and bare addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline import text_encoder
from hotline.text_encoder import SentenceEncoder, is_bare_address, worth_encoding

BARE = [
    "幸福小区3栋2单元门口",
    "幸福小区12栋",
    "光明路88号",
    "解放大道100号附近",
    "3栋2单元",
    "武昌区幸福小区三号楼",
    "百步亭花园2期",
    "丽岛花园7号楼3门",
    "幸福小区 3 栋",
]
NOT_BARE = [
    "王先生",
    "滨湖社区",
    "我不想说在哪个小区",
    "请问您是人工客服还是机器人",
    "谢谢师傅",
    "王先生您好",
    "幸福小区3栋门口路灯坏了",
    "3栋2单元的电梯坏了",
    "光明路88号有人占道经营",
    "不在3栋",
    "取消",
]


@pytest.mark.parametrize("text", BARE)
def test_a_bare_address_is_not_encoded(text: str) -> None:
    assert is_bare_address(text)
    assert not worth_encoding(text, 3)


@pytest.mark.parametrize("text", NOT_BARE)
def test_a_text_with_any_other_word_is_encoded(text: str) -> None:
    assert not is_bare_address(text)
    assert worth_encoding(text, 3) or len(text) < 3


def test_the_model_never_sees_a_bare_address() -> None:
    encoder = SentenceEncoder(threads=1)
    assert not encoder.encode_one("幸福小区3栋2单元门口").any()
    assert not encoder.encode_many(["3栋2单元", "光明路88号"]).any()
    assert encoder.is_cached("光明路88号")
    assert encoder.encoded == 0
    assert encoder.encode_one("幸福小区3栋门口路灯坏了").any()
    assert encoder.encoded == 1


def test_the_training_cache_key_changes_with_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Path(text_encoder.__file__).read_text(encoding="utf-8")
    copy = tmp_path / "text_encoder.py"
    copy.write_text(source, encoding="utf-8")
    monkeypatch.setattr(text_encoder, "__file__", str(copy))
    before = text_encoder.rule_fingerprint()
    copy.write_text(source.replace('"号楼|', '"号楼|号库|'), encoding="utf-8")
    assert text_encoder.rule_fingerprint() != before
