"""Routing, web search and the context window, in the exact bodies the stand-in received."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatapp.catalog.models import CatalogModel
from chatapp.catalog.services import catalog_fields
from chatapp.chat import spend
from chatapp.chat.models import Conversation, Message, RoutingDefaults
from chatapp.openrouter.fake.catalogue import catalogue_by_id
from chatapp.usage.models import UsageDaily
from tests.chat.frames import MODEL, chat_calls, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

SMALL = "cohere/command-r"  # 8,192 tokens of context in the stand-in's catalogue


async def catalogued(model_id: str) -> CatalogModel:
    """The stand-in's model, stored as `sync_models` would store it."""
    return await CatalogModel.objects.acreate(
        model_id=model_id, **catalog_fields(catalogue_by_id()[model_id])
    )


async def reply_to(tab, frame):
    await tab.send(**frame)
    return (await tab.until("done"))["message"]


async def test_a_conversation_with_default_routing_sends_no_provider_object(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await reply_to(alice_tab, send_frame("Hi [[tokens:3]]"))
    body = chat_calls(fake_openrouter)[-1]["json"]
    assert "provider" not in body
    assert "plugins" not in body
    assert "transforms" not in body


async def test_it_sends_the_conversations_provider_routing_as_the_documented_object(
    alice, tab, fake_openrouter, operator_key
):
    conversation = await Conversation.objects.acreate(
        owner=alice,
        model="meta-llama/llama-3.1-8b-instruct",
        provider_sort="throughput",
        provider_order=["Groq", "Together"],
        allow_fallbacks=False,
        deny_data_collection=True,
    )
    alice_tab = await tab(alice)
    frame = send_frame("Hi [[tokens:3]]", conversation.pk, model=conversation.model)
    reply = await reply_to(alice_tab, frame)

    body = chat_calls(fake_openrouter)[-1]["json"]
    assert body["provider"] == {
        "sort": "throughput",
        "order": ["Groq", "Together"],
        "allow_fallbacks": False,
        "data_collection": "deny",
    }
    assert reply["provider"] == "Groq"  # first in the order, and it does not store data
    row = await Message.objects.aget(pk=reply["id"])
    assert row.request_options == {"provider": body["provider"]}


async def test_only_providers_that_do_not_store_data_answer_when_asked(
    alice, tab, fake_openrouter, operator_key
):
    conversation = await Conversation.objects.acreate(
        owner=alice, model="deepseek/deepseek-r1", deny_data_collection=True
    )
    alice_tab = await tab(alice)
    reply = await reply_to(
        alice_tab, send_frame("Hi [[tokens:3]]", conversation.pk, model=conversation.model)
    )
    assert chat_calls(fake_openrouter)[-1]["json"]["provider"] == {"data_collection": "deny"}
    assert reply["provider"] == "Together"  # DeepSeek's own endpoint stores prompts


async def test_a_new_conversation_starts_with_the_site_routing_defaults(
    alice, tab, fake_openrouter, operator_key
):
    await RoutingDefaults.objects.acreate(provider_sort="price", deny_data_collection=True)
    alice_tab = await tab(alice)
    await reply_to(alice_tab, send_frame("Hi [[tokens:3]]"))
    conversation = await Conversation.objects.aget(owner=alice)
    assert conversation.provider_sort == "price"
    assert conversation.deny_data_collection
    assert chat_calls(fake_openrouter)[-1]["json"]["provider"] == {
        "sort": "price",
        "data_collection": "deny",
    }


async def test_web_search_adds_the_web_plugin_and_stores_the_cited_sources(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_WEB_SEARCH_MAX_RESULTS = 3
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL, web_search=True)
    alice_tab = await tab(alice)
    reply = await reply_to(alice_tab, send_frame("latest news [[tokens:4]]", conversation.pk))

    assert chat_calls(fake_openrouter)[-1]["json"]["plugins"] == [{"id": "web", "max_results": 3}]
    expected = [
        {"url": f"https://example.org/latest-news/{n}", "title": f"Result {n} about latest news"}
        for n in (1, 2, 3)
    ]
    assert reply["citations"] == expected
    assert (await Message.objects.aget(pk=reply["id"])).citations == expected


async def test_the_web_search_cost_is_part_of_the_cost_of_record(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_WEB_SEARCH_MAX_RESULTS = 2
    plain = await Conversation.objects.acreate(owner=alice, model=MODEL)
    searching = await Conversation.objects.acreate(owner=alice, model=MODEL, web_search=True)
    alice_tab = await tab(alice)
    without = await reply_to(alice_tab, send_frame("same words [[tokens:4]]", plain.pk))
    with_web = await reply_to(alice_tab, send_frame("same words [[tokens:4]]", searching.pk))
    # gpt-4o-mini has no search price of its own: the plugin's $0.004 per result applies.
    assert Decimal(with_web["cost"]) - Decimal(without["cost"]) == Decimal("0.008")


async def test_citations_with_unsafe_urls_are_never_stored(
    alice, tab, fake_openrouter, operator_key
):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL, web_search=True)
    alice_tab = await tab(alice)
    reply = await reply_to(
        alice_tab, send_frame("x [[hostile-citation]] [[tokens:3]]", conversation.pk)
    )
    urls = [c["url"] for c in reply["citations"]]
    assert not any(url.lower().startswith("javascript:") for url in urls)
    assert all(url.startswith("https://") for url in urls)


async def test_it_leaves_out_the_oldest_messages_that_do_not_fit_the_context(
    alice, tab, fake_openrouter, operator_key
):
    await catalogued(SMALL)
    conversation = await Conversation.objects.acreate(
        owner=alice, model=SMALL, system_prompt="Be brief."
    )
    parent = None
    for n in range(40):  # 40 turns of about 400 tokens each: far beyond 8,192 tokens
        asked = await Message.objects.acreate(
            conversation=conversation,
            user=alice,
            parent=parent,
            role="user",
            content=f"question {n} " + "x" * 1600,
        )
        parent = await Message.objects.acreate(
            conversation=conversation,
            user=alice,
            parent=asked,
            role="assistant",
            content=f"answer {n} " + "y" * 1600,
        )
    alice_tab = await tab(alice)
    reply = await reply_to(
        alice_tab, send_frame("newest [[tokens:3]]", conversation.pk, model=SMALL)
    )

    assert reply["status"] == "complete"
    sent = chat_calls(fake_openrouter)[-1]["json"]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1]["role"] == "user"  # it starts with a question, never a dangling answer
    assert sent[-1] == {"role": "user", "content": "newest [[tokens:3]]"}
    kept = len(sent) - 2  # without the system prompt and the newest question
    assert sent[-2]["content"].startswith("answer 39 ")
    assert reply["context_omitted"] == 80 - kept
    assert reply["context_omitted"] > 0
    assert "transforms" not in chat_calls(fake_openrouter)[-1]["json"]


async def test_middle_out_sends_the_whole_branch_with_the_transform(
    alice, tab, fake_openrouter, operator_key
):
    await catalogued(SMALL)
    conversation = await Conversation.objects.acreate(
        owner=alice, model=SMALL, context_strategy="middle-out"
    )
    parent = None
    for n in range(30):
        parent = await Message.objects.acreate(
            conversation=conversation,
            user=alice,
            parent=parent,
            role="user" if n % 2 == 0 else "assistant",
            content=f"turn {n} " + "z" * 2000,
        )
    alice_tab = await tab(alice)
    reply = await reply_to(
        alice_tab, send_frame("newest [[tokens:3]]", conversation.pk, model=SMALL)
    )
    body = chat_calls(fake_openrouter)[-1]["json"]
    assert body["transforms"] == ["middle-out"]
    assert len(body["messages"]) == 31
    assert reply["context_omitted"] == 0
    assert reply["status"] == "complete"


async def test_a_message_that_cannot_fit_is_refused_before_any_call(
    alice, tab, fake_openrouter, operator_key
):
    await catalogued(SMALL)
    conversation = await Conversation.objects.acreate(owner=alice, model=SMALL)
    alice_tab = await tab(alice)
    frame = send_frame("w" * 31_000, conversation.pk, model=SMALL)
    await alice_tab.send(**frame)
    error = await alice_tab.until("error")

    assert error["code"] == "too_long_for_model"
    assert error["client_id"] == frame["client_id"]
    assert "too long for Cohere" in error["message"]
    assert "8,192" in error["message"]
    assert chat_calls(fake_openrouter) == []
    assert await Message.objects.filter(conversation=conversation).acount() == 0


async def test_cached_prompt_tokens_are_shown_as_dollars_saved(
    alice, tab, fake_openrouter, operator_key
):
    model = await catalogued(MODEL)  # gpt-4o-mini: cache reads at half the prompt price
    alice_tab = await tab(alice)
    reply = await reply_to(alice_tab, send_frame("Hi " + "a" * 400 + " [[cached:20]] [[tokens:3]]"))

    assert reply["cached_tokens"] == 20
    assert model.prompt_price is not None
    assert model.cache_read_price is not None
    saved = (model.prompt_price - model.cache_read_price) * 20
    assert saved == Decimal("0.0000015")
    assert Decimal(reply["cache_savings"]) == saved
    assert (await Message.objects.aget(pk=reply["id"])).cache_savings == saved
    await spend.rollups_settled()  # and "My usage" and the dashboard count it
    day = await UsageDaily.objects.aget(user=alice)
    assert day.saved == saved
