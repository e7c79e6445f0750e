"""A client_id is stored once per person, held by the database: a send handed to two server
processes at once is stored by one of them, and the other answers with what the first stored."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from chatapp.accounts.models import User
from chatapp.chat import services
from chatapp.chat.models import Message
from tests.chat.frames import MODEL

pytestmark = [pytest.mark.django_db(transaction=True)]


def send(user: User, client_id: uuid.UUID, content: str = "hello") -> services.Exchange:
    return services.message_send(
        user=user,
        conversation_id=None,
        client_id=client_id,
        content=content,
        model=MODEL,
        parent_id=None,
    )


@pytest.mark.postgres
def test_the_second_of_two_racing_sends_answers_with_the_firsts_messages(alice, operator_key):
    client_id = uuid.uuid4()
    outcome: dict[str, Any] = {}

    def racing_send() -> None:
        try:
            outcome["exchange"] = send(User.objects.get(pk=alice.pk), client_id, "from B")
        finally:
            connections.close_all()

    # The first process is inside its send: its rows are written but not yet committed, so the
    # second one's resend check sees nothing and it goes on to insert.
    with transaction.atomic():
        first = send(alice, client_id, "from A")
        racer = threading.Thread(target=racing_send)
        racer.start()
        racer.join(timeout=1)  # time to race: its insert has to wait for this transaction
    racer.join(timeout=20)
    second = outcome["exchange"]
    assert second.duplicate
    assert second.reply is None
    assert [m.pk for m in second.messages] == [m.pk for m in first.messages]
    assert Message.objects.count() == 2
    assert Message.objects.get(role="user").content == "from A"


def test_a_client_id_reused_in_another_conversation_is_a_resend(alice, operator_key):
    client_id = uuid.uuid4()
    first = send(alice, client_id)
    again = send(alice, client_id, "a different text, same id")
    assert again.duplicate
    assert [m.pk for m in again.messages] == [m.pk for m in first.messages]


def test_two_people_may_use_the_same_client_id(alice, bob, operator_key):
    client_id = uuid.uuid4()
    assert not send(alice, client_id).duplicate
    assert not send(bob, client_id).duplicate


def test_the_migration_keeps_a_repeated_client_id_on_its_first_message_only(alice):
    before, after = (
        [("chat", "0003_message_user_client_index")],
        [("chat", "0004_client_id_unique_per_user")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Conversation, Message = old.get_model("chat", "Conversation"), old.get_model("chat", "Message")
    client_id = uuid.uuid4()
    rows = []
    for text in ("first", "repeat"):  # what the race stored: one send in two new chats
        conversation = Conversation.objects.create(owner_id=alice.pk, model=MODEL)
        rows.append(
            Message.objects.create(
                conversation=conversation,
                user_id=alice.pk,
                role="user",
                content=text,
                client_id=client_id,
            )
        )
    try:
        MigrationExecutor(connection).migrate(after)
        new = MigrationExecutor(connection).loader.project_state(after).apps
        stored = new.get_model("chat", "Message").objects.order_by("pk")
        assert [(m.content, m.client_id) for m in stored] == [
            ("first", client_id),
            ("repeat", None),
        ]
    finally:
        call_command("migrate", verbosity=0)
