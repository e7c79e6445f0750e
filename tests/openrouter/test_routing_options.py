"""Routing, web search and transforms in the body; sources and cache figures in the reply."""

from __future__ import annotations

from decimal import Decimal

from chatapp.openrouter import (
    ChatOptions,
    Citation,
    Citations,
    ProviderPreferences,
    Usage,
    alist_endpoints,
    astream_chat,
)
from chatapp.openrouter.stream import _usage, citations_from
from tests.openrouter.helpers import KEY, MODEL, final_finish, of_type


def test_default_options_add_nothing_to_the_body():
    assert ChatOptions().body() == {}


def test_options_add_the_documented_keys_and_only_those_that_differ_from_the_defaults():
    options = ChatOptions(
        provider=ProviderPreferences(sort="latency", deny_data_collection=True),
        web_results=4,
        middle_out=True,
    )
    assert options.body() == {
        "provider": {"sort": "latency", "data_collection": "deny"},
        "plugins": [{"id": "web", "max_results": 4}],
        "transforms": ["middle-out"],
    }


def test_only_http_and_https_citations_are_kept_with_their_titles_on_one_line():
    found = citations_from(
        [
            {
                "type": "url_citation",
                "url_citation": {"url": "https://a.example/x", "title": "A\n b"},
            },
            {"type": "url_citation", "url_citation": {"url": "javascript:alert(1)", "title": "x"}},
            {"type": "url_citation", "url_citation": {"url": "data:text/html,hi", "title": "y"}},
            {"type": "file", "file": {"name": "x.pdf"}},
        ]
    )
    assert found == Citations((Citation(url="https://a.example/x", title="A b"),))


def test_usage_reads_cached_tokens_and_a_reported_cache_discount():
    usage = _usage(
        {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "cost": Decimal("0.001"),
            "prompt_tokens_details": {"cached_tokens": 80},
            "cost_details": {"cache_discount": Decimal("0.0004")},
        }
    )
    assert usage.cached_tokens == 80
    assert usage.cache_discount == Decimal("0.0004")


async def test_the_stream_hands_sources_and_usage_to_on_extra_before_yielding_them(fake_openrouter):
    seen: list[object] = []

    async def on_extra(event: Citations | Usage) -> None:
        seen.append(event)

    stream = astream_chat(
        api_key=KEY,
        model=MODEL,
        messages=[{"role": "user", "content": "weather today [[tokens:3]]"}],
        user_id="user-1",
        options=ChatOptions(web_results=2),
        on_extra=on_extra,
    )
    events = [event async for event in stream]
    assert [type(e) for e in seen] == [Citations, Usage]
    assert of_type(events, Citations) == [seen[0]]
    assert [c.url for c in seen[0].items] == [  # type: ignore[attr-defined]
        "https://example.org/weather-today/1",
        "https://example.org/weather-today/2",
    ]
    assert final_finish(events)
    assert fake_openrouter.requests()[-1]["json"]["plugins"] == [{"id": "web", "max_results": 2}]


async def test_it_lists_the_providers_of_a_model_without_its_variant_suffix(fake_openrouter):
    endpoints = await alist_endpoints(model_id="meta-llama/llama-3.1-8b-instruct:free", api_key=KEY)
    assert [e.provider for e in endpoints] == ["DeepInfra", "Together", "Fireworks", "Groq"]
    assert fake_openrouter.requests()[-1]["path"] == (
        "/api/v1/models/meta-llama/llama-3.1-8b-instruct/endpoints"
    )
    assert endpoints[0].prompt_price == Decimal("0.00000002")


async def test_the_endpoints_of_an_unknown_model_are_an_empty_list(fake_openrouter):
    assert await alist_endpoints(model_id="nobody/nothing", api_key=KEY) == []
