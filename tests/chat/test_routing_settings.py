"""The settings panel's routing choices, the web search toggle, and the provider list."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Conversation, RoutingDefaults

pytestmark = pytest.mark.django_db
MODEL = "meta-llama/llama-3.1-8b-instruct"


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def conversation(alice) -> Conversation:
    return Conversation.objects.create(owner=alice, model=MODEL)


def test_it_saves_the_routing_choices_of_a_conversation(client, alice, conversation):
    client.force_login(alice)
    routing = {
        "provider_sort": "latency",
        "provider_order": ["Groq", " Together ", "Groq", ""],
        "allow_fallbacks": False,
        "deny_data_collection": True,
        "context_strategy": "middle-out",
    }
    response = post(
        client,
        reverse("chat:settings", args=[conversation.pk]),
        {"model": MODEL, "system_prompt": "", "parameters": {}, "routing": routing},
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.provider_sort == "latency"
    assert conversation.provider_order == ["Groq", "Together"]
    assert not conversation.allow_fallbacks
    assert conversation.deny_data_collection
    assert conversation.context_strategy == "middle-out"
    assert response.json()["conversation"]["routing"]["provider_order"] == ["Groq", "Together"]


def test_an_unknown_sort_is_refused_with_the_choices(client, alice, conversation):
    client.force_login(alice)
    response = post(
        client,
        reverse("chat:settings", args=[conversation.pk]),
        {"model": MODEL, "routing": {"provider_sort": "cheapest"}},
    )
    assert response.status_code == 400
    assert "Default, Price, Throughput or Latency" in response.json()["error"]


def test_a_conversation_created_from_the_panel_starts_from_the_site_defaults(client, alice):
    RoutingDefaults.objects.create(provider_sort="throughput", allow_fallbacks=False)
    client.force_login(alice)
    response = post(client, reverse("chat:create"), {"model": MODEL, "web_search": True})
    conversation = Conversation.objects.get(pk=response.json()["conversation"]["id"])
    assert conversation.provider_sort == "throughput"
    assert not conversation.allow_fallbacks
    assert conversation.web_search


def test_the_web_search_toggle_is_saved_on_the_conversation(client, alice, conversation):
    client.force_login(alice)
    response = post(client, reverse("chat:web_search", args=[conversation.pk]), {"on": True})
    assert response.json()["conversation"]["web_search"] is True
    conversation.refresh_from_db()
    assert conversation.web_search


def test_nobody_else_can_change_a_conversations_settings(client, bob, conversation):
    client.force_login(bob)
    response = post(client, reverse("chat:web_search", args=[conversation.pk]), {"on": True})
    assert response.status_code == 404


def test_it_lists_the_providers_of_a_model_from_its_endpoints(client, alice, fake_openrouter):
    CatalogModel.objects.create(model_id=MODEL, name="Llama")
    client.force_login(alice)
    response = client.get(reverse("chat:providers"), {"model": MODEL})
    names = [p["name"] for p in response.json()["providers"]]
    assert names == ["DeepInfra", "Together", "Fireworks", "Groq"]
    assert response.json()["providers"][0]["prompt"] == "0.02"  # dollars per million


def test_providers_of_a_model_outside_the_catalogue_are_not_looked_up(client, alice):
    client.force_login(alice)
    response = client.get(reverse("chat:providers"), {"model": "nobody/nothing"})
    assert response.status_code == 404
