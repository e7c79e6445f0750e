"""Streaming a reply from the stand-in on a real port: events, what was sent, costs."""

from __future__ import annotations

from decimal import Decimal

from django.test import override_settings

from chatapp.openrouter import ContentDelta, Finish, ReasoningDelta, StreamError, Usage
from chatapp.openrouter.fake.catalogue import catalogue_by_id
from tests.openrouter.helpers import KEY, MODEL, chat, collect, final_finish, of_type


async def test_it_streams_content_then_finish_then_usage(fake_openrouter):
    events = await collect("hello [[tokens:5]]")

    assert [type(e) for e in events] == [Finish] + [ContentDelta] * 5 + [Finish, Usage]
    early, finish = events[0], events[6]
    assert early == Finish("", finish.generation_id, finish.provider, finish.model)
    assert finish.reason == "stop"
    assert finish.generation_id.startswith("gen-")
    assert finish.provider == "OpenAI"
    assert finish.model == MODEL


async def test_it_reports_usage_with_the_exact_cost_of_the_model_price(fake_openrouter):
    usage = of_type(await collect("hello [[tokens:9]]"), Usage)[0]

    prices = catalogue_by_id()[MODEL]["pricing"]
    expected = (
        Decimal(prices["prompt"]) * usage.prompt_tokens
        + Decimal(prices["completion"]) * usage.completion_tokens
    )
    assert usage.completion_tokens == 9
    assert usage.cost == expected
    assert isinstance(usage.cost, Decimal)


async def test_it_sends_attribution_user_usage_and_stream_flags(fake_openrouter):
    with override_settings(
        CHATAPP_SITE_URL="https://chat.example.org", CHATAPP_SITE_NAME="Our chat"
    ):
        await collect("hello")

    sent = fake_openrouter.requests()[-1]
    assert sent["path"] == "/api/v1/chat/completions"
    assert sent["headers"]["http-referer"] == "https://chat.example.org"
    assert sent["headers"]["x-title"] == "Our chat"
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    assert sent["json"]["user"] == "user-7f3a"
    assert sent["json"]["usage"] == {"include": True}
    assert sent["json"]["stream"] is True
    assert sent["json"]["messages"] == [{"role": "user", "content": "hello"}]


async def test_it_passes_parameters_but_never_lets_them_replace_the_fixed_fields(fake_openrouter):
    await collect(
        "hello",
        parameters={"temperature": 0.2, "stream": False, "model": "x/y", "user": "someone"},
    )

    body = fake_openrouter.requests()[-1]["json"]
    assert body["temperature"] == 0.2
    assert (body["stream"], body["model"], body["user"]) == (True, MODEL, "user-7f3a")


async def test_it_streams_reasoning_before_content(fake_openrouter):
    events = await collect("think [[reasoning]] [[tokens:10]]")

    kinds = [type(e) for e in events if isinstance(e, ReasoningDelta | ContentDelta)]
    assert kinds == [ReasoningDelta] * 5 + [ContentDelta] * 10
    assert of_type(events, Usage)[0].reasoning_tokens == 5


async def test_it_delivers_text_verbatim_across_crlf_and_split_utf8(fake_openrouter):
    text = "<img src=x onerror=alert(1)> héllo 漢字 🎉\tend"
    events = await collect(f"[[echo]] [[crlf]] [[split:3]] {text}")

    assert "".join(e.text for e in of_type(events, ContentDelta)) == text
    assert isinstance(events[-1], Usage)


async def test_it_reports_the_model_actually_used(fake_openrouter):
    events = await collect("hello", model="openrouter/auto")

    assert final_finish(events)[0].model == "openai/gpt-4o-mini"


async def test_it_reports_a_cut_reply_as_length(fake_openrouter):
    events = await collect("hello [[tokens:10]]", parameters={"max_tokens": 4})

    assert len(of_type(events, ContentDelta)) == 4
    assert final_finish(events)[0].reason == "length"


async def test_it_reuses_one_pooled_connection_per_event_loop(fake_openrouter):
    first = of_type(await collect("one"), Finish)[0]
    await collect("two")

    ids = {e["generation_id"] for e in fake_openrouter.events()}
    assert first.generation_id not in ids  # its connection went back to the pool, still open


async def test_it_ignores_keepalive_comments(fake_openrouter):
    events = await collect("slow start [[ttft:200]] [[tokens:2]]")

    assert not of_type(events, StreamError)
    assert len(of_type(events, ContentDelta)) == 2


async def test_it_can_be_iterated_lazily_and_closed_early(fake_openrouter):
    stream = chat("hello [[tokens:50]]")
    first, second = await anext(stream), await anext(stream)
    await stream.aclose()

    assert isinstance(first, Finish)
    assert first.reason == ""
    assert isinstance(second, ContentDelta)
