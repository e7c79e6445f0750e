"""Partial text is saved about once a second; replies whose worker died end as interrupted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatapp.chat import sweeper
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, send_frame
from tests.eventually import eventually

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_the_partial_reply_is_checkpointed_while_it_streams(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("slow [[tokens:100]] [[rate:25]]"))
    reply = await alice_tab.until("message_created", timeout=15)
    reply = await alice_tab.until("message_created")
    reply_id = reply["message"]["id"]

    async def checkpointed() -> Message | None:
        row = await Message.objects.aget(pk=reply_id)
        return row if row.content else None

    row = await eventually(checkpointed, failure="no checkpoint while the reply streamed")
    assert row.status == "streaming"
    assert row.content
    await alice_tab.until("done")


async def test_a_stale_streaming_reply_is_swept_to_interrupted_with_its_text(alice, tab):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    orphan = await Message.objects.acreate(
        conversation=conversation,
        user=alice,
        role="assistant",
        status="streaming",
        content="half a sent",
    )
    watcher = await tab(alice)
    await watcher.send(type="subscribe", conversation=conversation.pk)
    snapshot = await watcher.until("snapshot")  # no worker answers: the checkpoint is used
    assert snapshot["messages"][0]["content"] == "half a sent"
    long_ago = timezone.now() - sweeper.STALE_AFTER - timedelta(seconds=5)
    await Message.objects.filter(pk=orphan.pk).aupdate(updated_at=long_ago)

    assert await sweeper.asweep_interrupted() == [orphan.pk]
    done = await watcher.until("done")
    assert done["message"]["status"] == "interrupted"
    assert done["message"]["content"] == "half a sent"
    assert "Regenerate" in done["message"]["error_text"]


async def test_replies_left_streaming_by_a_dead_server_are_swept_at_start_up(alice, tab):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    orphan = await Message.objects.acreate(
        conversation=conversation, user=alice, role="assistant", status="streaming"
    )
    long_ago = timezone.now() - sweeper.STALE_AFTER - timedelta(seconds=5)
    await Message.objects.filter(pk=orphan.pk).aupdate(updated_at=long_ago)
    await tab(alice)  # the first socket of a process starts the sweeper

    async def swept() -> bool:
        await orphan.arefresh_from_db()
        return orphan.status != "streaming"

    await eventually(swept, failure="the reply was never swept")
    assert orphan.status == "interrupted"


async def test_the_sweeper_leaves_a_live_reply_alone(alice, tab, fake_openrouter, operator_key):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("slow [[tokens:40]] [[rate:20]]"))
    await alice_tab.until("delta")
    assert await sweeper.asweep_interrupted() == []
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "complete"
