"""The estimate next to Send: the real history that would go upstream, priced by hand here."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db
URL = reverse("usage:estimate")
MODEL = "test/cached-model"


@pytest.fixture
def model() -> CatalogModel:
    return CatalogModel.objects.create(
        model_id=MODEL,
        name="Test: Cached Model",
        context_length=100_000,
        max_completion_tokens=1_000,
        prompt_price=Decimal("0.000002"),  # $2 per million
        completion_price=Decimal("0.000008"),
        cache_read_price=Decimal("0.0000005"),
        request_price=Decimal("0"),
    )


@pytest.fixture
def conversation(alice, model) -> Conversation:
    conv = Conversation.objects.create(owner=alice, model=MODEL, system_prompt="Be brief.")
    asked = Message.objects.create(conversation=conv, user=alice, role="user", content="a" * 400)
    Message.objects.create(
        conversation=conv, user=alice, parent=asked, role="assistant", content="b" * 200
    )
    return conv


@pytest.fixture
def operator_key(settings) -> None:
    settings.OPENROUTER_API_KEY = "sk-or-v1-operator-test"
    settings.CHATAPP_OPERATOR_KEY_POLICY = "all"


def ask(client, **body):
    response = client.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def leaf(conversation: Conversation) -> int:
    return conversation.messages.order_by("-pk").values_list("pk", flat=True)[0]


def test_it_prices_the_history_that_would_be_sent_with_the_cached_part_at_the_cache_price(
    client, alice, conversation
):
    client.force_login(alice)
    found = ask(
        client,
        conversation=conversation.pk,
        parent=leaf(conversation),
        model=MODEL,
        draft="c" * 40,
    )
    # Tokens: system 3+4, question 100+4, answer 50+4, draft 10+4, reply priming 3 = 182.
    # Sent last time (system and question) = 111 tokens, read from the cache.
    # Input: 71 x $0.000002 + 111 x $0.0000005 = $0.000142 + $0.0000555 = $0.0001975.
    # Output: up to the model's 1,000 completion tokens x $0.000008 = $0.008.
    assert found["input_tokens"] == 182
    assert found["cached_tokens"] == 111
    assert found["input_cost"] == "0.0001975"
    assert found["output_tokens"] == 1000
    assert found["output_cost"] == "0.008"
    assert found["total"] == "0.0081975"
    assert found["omitted"] == 0
    assert found["refusal"] == ""


def test_max_tokens_caps_the_output_and_web_search_adds_the_plugins_price(
    client, alice, conversation
):
    conversation.parameters = {"max_tokens": 100}
    conversation.save()
    client.force_login(alice)
    found = ask(
        client,
        conversation=conversation.pk,
        parent=leaf(conversation),
        model=MODEL,
        draft="c" * 40,
        web_search=True,
    )
    assert found["output_cost"] == "0.0008"  # 100 x $0.000008
    assert found["web_search_cost"] == "0.02"  # 5 results x $0.004
    assert found["total"] == "0.0209975"
    assert found["input_text"] == "0.02"  # the search is paid however short the answer


def test_a_new_chat_is_priced_from_the_draft_alone(client, alice, model):
    client.force_login(alice)
    found = ask(client, conversation=None, parent=None, model=MODEL, draft="c" * 40)
    assert found["input_tokens"] == 17
    assert found["cached_tokens"] == 0
    assert found["input_cost"] == "0.000034"


def test_it_warns_when_the_estimate_exceeds_what_is_left_of_the_budget(
    client, alice, conversation, operator_key
):
    alice.operator_monthly_budget = Decimal("0.005")
    alice.save()
    client.force_login(alice)
    found = ask(
        client, conversation=conversation.pk, parent=leaf(conversation), model=MODEL, draft="hi"
    )
    assert found["budget_remaining"] == "0.005"
    assert found["over_budget"] is True


def test_a_draft_too_long_for_the_model_comes_back_as_the_refusal_a_send_would_get(
    client, alice, conversation, model
):
    model.context_length = 1000
    model.save()
    client.force_login(alice)
    found = ask(client, conversation=conversation.pk, parent=None, model=MODEL, draft="d" * 8000)
    assert "too long for Test: Cached Model" in found["refusal"]


def test_someone_elses_conversation_is_not_found(client, bob, conversation):
    client.force_login(bob)
    response = client.post(
        URL,
        json.dumps({"conversation": conversation.pk, "model": MODEL, "draft": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 404


def test_the_composers_attachments_are_priced_with_the_draft_and_unreadable_ones_refused(
    client, alice, bob, model
):
    from chatapp.attachments.services import attachment_store
    from tests.attachments import files

    client.force_login(alice)
    image = attachment_store(user=alice, name="chart.png", data=files.png())
    bobs = attachment_store(user=bob, name="bob.png", data=files.png())
    model.input_modalities = ["text", "image"]
    model.save()
    plain = ask(client, conversation=None, parent=None, model=MODEL, draft="c" * 40)
    found = ask(
        client,
        conversation=None,
        parent=None,
        model=MODEL,
        draft="c" * 40,
        attachments=[image.pk],
    )
    assert found["input_tokens"] == plain["input_tokens"] + 1_500  # an image, estimated
    assert (
        ask(
            client,
            conversation=None,
            parent=None,
            model=MODEL,
            draft="c" * 40,
            attachments=[bobs.pk],
        )["input_tokens"]
        == plain["input_tokens"]
    )  # someone else's files are not looked at

    model.input_modalities = ["text"]
    model.save()
    refused = ask(
        client, conversation=None, parent=None, model=MODEL, draft="x", attachments=[image.pk]
    )
    assert "Test: Cached Model can’t read images" in refused["refusal"]
