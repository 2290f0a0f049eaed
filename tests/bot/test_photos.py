"""Photos: stored under var/media with a size limit and a type check, linked to the case."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.channels.attachments import MAX_PHOTO_BYTES, link_unassigned
from hotline.db import transaction
from hotline.models import Attachment, Case
from tests.bot.conftest import CHAT, Harness
from tests.bot.helpers import new_case

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def _attachments(db_url: str) -> list[Attachment]:
    with transaction(db_url) as session:
        rows = list(session.scalars(select(Attachment).order_by(Attachment.id)))
        for row in rows:
            session.expunge(row)
        return rows


async def test_photo_is_stored_and_linked_to_the_open_case(bot: Harness, var_dir: Path) -> None:
    number = new_case(bot.db_url)
    bot.tg.add_file("ph-1", JPEG, "photos/ph-1.jpg")
    update = bot.tg.photo_message(CHAT, "ph-1", len(JPEG))
    bot.tg.push_update({**update, "update_id": 500})
    await bot.reply(f"已附加到工单 {number}")
    bot.tg.push_update({**update, "update_id": 500})  # delivered again
    bot.say("好的")
    await bot.reply("收到：好的")
    [attachment] = _attachments(bot.db_url)
    with transaction(bot.db_url) as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case is not None and attachment.case_id == case.id
    assert attachment.content_type == "image/jpeg" and attachment.size == len(JPEG)
    stored = var_dir / "media" / attachment.path
    assert stored.read_bytes() == JPEG


async def test_photo_without_a_case_is_kept(bot: Harness) -> None:
    bot.tg.add_file("ph-2", PNG)
    bot.tg.push_update(bot.tg.photo_message(CHAT, "ph-2", len(PNG), caption="楼道里的垃圾"))
    await bot.reply("没有正在办理的工单")
    await bot.reply("收到：楼道里的垃圾")  # the caption goes to the assistant
    [attachment] = _attachments(bot.db_url)
    assert attachment.case_id is None and attachment.content_type == "image/png"
    number = new_case(bot.db_url)  # the case reported afterwards picks the photo up
    with transaction(bot.db_url) as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case is not None
        assert link_unassigned(session, f"tg:{CHAT}", case) == 1
    assert _attachments(bot.db_url)[0].case_id is not None


async def test_oversized_photo_is_refused_before_download(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.photo_message(CHAT, "big", MAX_PHOTO_BYTES + 1))
    await bot.reply("照片太大了")
    assert bot.tg.calls_to("getFile") == []
    assert _attachments(bot.db_url) == []


async def test_not_an_image_is_refused(bot: Harness) -> None:
    bot.tg.add_file("fake-jpg", b"<html>not a photo</html>")
    bot.tg.push_update(bot.tg.photo_message(CHAT, "fake-jpg", 24))
    await bot.reply("只能接收")
    since = bot.mark()
    document = {
        "file_id": "doc-1",
        "file_unique_id": "u-doc-1",
        "file_name": "合同.pdf",
        "mime_type": "application/pdf",
        "file_size": 1000,
    }
    bot.tg.push_update(bot.tg.user_message(CHAT, {"document": document}))
    await bot.reply("只能接收", since=since)
    assert _attachments(bot.db_url) == []


async def test_image_sent_as_file_is_accepted(bot: Harness) -> None:
    bot.tg.add_file("doc-2", JPEG)
    document = {
        "file_id": "doc-2",
        "file_unique_id": "u-doc-2",
        "file_name": "IMG_0001.jpg",
        "mime_type": "image/jpeg",
        "file_size": len(JPEG),
    }
    bot.tg.push_update(bot.tg.user_message(CHAT, {"document": document}))
    await bot.reply("照片已收到")
    assert len(_attachments(bot.db_url)) == 1
