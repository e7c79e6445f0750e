from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from chatapp.chat.models import Message
from chatapp.usage.rollup import usage_rollup_drift

pytestmark = pytest.mark.django_db


def test_seed_usage_fills_priced_replies_and_an_exact_rollup() -> None:
    out = StringIO()
    call_command("seed_usage", "--messages", "400", "--users", "5", "--seed", "3", stdout=out)
    assert "400 priced replies" in out.getvalue()
    assert Message.objects.exclude(role="user").count() == 400
    assert Message.objects.filter(role="title").exists()
    assert set(Message.objects.values_list("paid_by", flat=True)) <= {"user", "operator"}
    assert usage_rollup_drift() == []


def test_seeded_ids_do_not_collide_with_later_inserts(alice) -> None:
    call_command("seed_usage", "--messages", "50", "--users", "2", stdout=StringIO())
    from tests.usage.factories import conversation, reply

    reply(conversation(alice), cost="1")  # would raise IntegrityError on a stale sequence
