"""Replies OpenRouter may have charged for, whose cost never became known, are counted on the
dashboard as "cost unknown" instead of passing silently as $0."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chatapp.chat.models import Message
from chatapp.usage.forms import default_filters
from chatapp.usage.selectors import usage_cost_unknown
from tests.usage.factories import conversation, reply

pytestmark = pytest.mark.django_db


def ended(conv, *, status: str, generation_id: str = "") -> Message:
    row = reply(conv, cost=None)
    Message.objects.filter(pk=row.pk).update(status=status, generation_id=generation_id)
    return row


def test_interrupted_and_uncosted_replies_with_an_id_count_as_cost_unknown(alice) -> None:
    conv = conversation(alice)
    ended(conv, status="interrupted")  # the process died before any id was known
    ended(conv, status="cancelled", generation_id="gen-1")  # /generation never answered
    ended(conv, status="error")  # refused before the first token: nothing was charged
    reply(conv, cost="0.5")  # costed
    assert usage_cost_unknown(default_filters()) == 2


def test_the_dashboard_says_how_many_replies_have_no_known_cost(client, staff, alice) -> None:
    conv = conversation(alice)
    ended(conv, status="interrupted")
    client.force_login(staff)
    page = client.get(reverse("usage:costs")).content.decode()
    assert "1 reply ended before OpenRouter reported its cost" in page


def test_the_dashboard_says_nothing_when_every_cost_is_known(client, staff, alice) -> None:
    reply(conversation(alice), cost="0.5")
    client.force_login(staff)
    assert "reported its cost" not in client.get(reverse("usage:costs")).content.decode()
