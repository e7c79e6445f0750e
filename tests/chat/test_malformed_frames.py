"""Frames no person types but an attacker can: each gets `bad_request` and the socket lives on.

They are written as raw JSON text, as they cross the wire: `\\ud800` is how JSON spells half of
a UTF-16 surrogate pair, which no UTF-8 text (and no database) can hold.
"""

from __future__ import annotations

import json
import uuid

import pytest

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message
from tests.chat.engine import Tab
from tests.chat.frames import MODEL, chat_calls

pytestmark = [pytest.mark.django_db(transaction=True)]


def raw_send(client_id: str, *, content: str = '"hello"', model: str = f'"{MODEL}"') -> str:
    """A `send` frame as JSON text, with `content` and `model` spliced in as JSON already."""
    return (
        f'{{"type": "send", "conversation": null, "client_id": "{client_id}", '
        f'"content": {content}, "model": {model}}}'
    )


async def assert_still_open(alice_tab: Tab, alice: User) -> None:
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    await alice_tab.send(type="subscribe", conversation=conversation.pk)
    assert (await alice_tab.next())["type"] == "snapshot"


MALFORMED = {
    "a lone surrogate in the message": {"content": r'"hi \ud83d there"'},
    "a lone low surrogate in the message": {"content": r'"\udc00"'},
    "a lone surrogate in the model": {"model": r'"openai/gpt-4o-mini\ud800"'},
    "a NUL character in the message": {"content": r'"before\u0000after"'},
    "a NUL character in the model": {"model": r'"openai/gpt\u0000-4o-mini"'},
}


@pytest.mark.parametrize("fields", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_send_gets_bad_request_and_the_socket_stays_open(
    alice, tab, operator_key, fake_openrouter, fields
):
    alice_tab = await tab(alice)
    client_id = str(uuid.uuid4())
    await alice_tab.communicator.send_to(text_data=raw_send(client_id, **fields))
    error = await alice_tab.next()
    assert error["type"] == "error"
    assert error["code"] == "bad_request"
    assert error["message"].startswith("That request was not understood: ")
    assert error["message"].endswith(".")
    assert error["client_id"] == client_id  # the page puts the text back in the composer
    assert not await Message.objects.aexists()
    assert chat_calls(fake_openrouter) == []
    await assert_still_open(alice_tab, alice)


async def test_a_deeply_nested_frame_gets_bad_request_and_the_socket_stays_open(alice, tab):
    alice_tab = await tab(alice)
    nested = "[" * 20_000 + "]" * 20_000
    await alice_tab.communicator.send_to(text_data=raw_send(str(uuid.uuid4()), content=nested))
    error = await alice_tab.next()
    assert error["code"] == "bad_request"
    assert "nests deeper" in error["message"]
    await assert_still_open(alice_tab, alice)


async def test_an_id_beyond_64_bits_is_refused_as_malformed(alice, tab):
    alice_tab = await tab(alice)
    for kind in ("subscribe", "stop"):
        await alice_tab.communicator.send_to(
            text_data=json.dumps({"type": kind, "conversation": 2**64})
        )
        error = await alice_tab.next()
        assert error["code"] == "bad_request"
        assert "positive whole number" in error["message"]
    await assert_still_open(alice_tab, alice)


async def test_a_message_with_an_emoji_pair_is_still_sent(
    alice, tab, operator_key, fake_openrouter
):
    alice_tab = await tab(alice)
    await alice_tab.communicator.send_to(
        text_data=raw_send(str(uuid.uuid4()), content=r'"thanks \ud83d\ude00"')
    )
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "complete"
    asked = await Message.objects.aget(role="user")
    assert asked.content == "thanks 😀"
