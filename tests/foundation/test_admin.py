"""The Django admin: every model of ours is there, with working search and filters, and the
derived tables and one-shot tokens can be looked at but never written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chatapp.accounts.keys import key_store
from chatapp.accounts.models import PkceFlow, User
from chatapp.catalog.models import CatalogModel, CatalogSync
from chatapp.chat.models import Conversation
from chatapp.usage.models import DeletedSpend
from tests.usage.factories import conversation, reply

OURS = ("accounts", "catalog", "chat", "usage")
READ_ONLY = [
    "accounts.PkceFlow",
    "catalog.CatalogSync",
    "chat.Message",
    "usage.UsageDaily",
    "usage.UserUsageDaily",
    "usage.SiteUsageDaily",
    "usage.ConversationUsage",
    "usage.ConversationModelUsage",
    "usage.DeletedSpend",
]


def our_models() -> list[type[models.Model]]:
    return [m for label in OURS for m in apps.get_app_config(label).get_models()]


def url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def operator(db: None) -> Client:
    boss = User.objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def one_of_everything(alice: User) -> None:
    """At least one row in every table of ours, so each list and filter has something to show."""
    conv = conversation(alice)
    reply(conv, cost="0.0012", model="openai/gpt-4o-mini")
    reply(conv, cost="0.0003", model="anthropic/claude-3.5-sonnet", role="title")
    gone = conversation(alice, title="to delete")
    reply(gone, cost="0.5")
    Conversation.objects.filter(pk=gone.pk).delete()
    key_store(user=alice, api_key="sk-or-v1-" + "5a" * 32, source="pasted")
    PkceFlow.objects.create(
        user=alice, state_digest="0" * 64, expires_at=timezone.now() + timedelta(minutes=10)
    )
    CatalogModel.objects.create(model_id="openai/gpt-4o-mini", name="OpenAI: GPT-4o-mini")
    CatalogSync.objects.create(ok=True, models_seen=1)


def test_every_model_of_ours_is_in_the_admin():
    missing = [m._meta.label for m in our_models() if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_every_list_searches_and_filters(operator, one_of_everything, model):
    listing = operator.get(url(model, "changelist"), follow=True)
    assert listing.status_code == 200
    model_admin = admin.site._registry[model]
    if model_admin.search_fields:
        assert operator.get(url(model, "changelist"), {"q": "alice"}).status_code == 200
    page = listing.content.decode()
    sidebar = page.partition('id="changelist-filter"')[2]
    links = set(re.findall(r'href="(\?[^"]+)"', sidebar))
    if model_admin.list_filter:
        assert links, f"{model._meta.label} lists filters but the page shows none"
    for link in links:
        link = link.replace("&amp;", "&")
        assert operator.get(url(model, "changelist") + link).status_code == 200, link


@pytest.mark.parametrize("label", READ_ONLY)
def test_derived_rows_and_one_shot_tokens_can_be_seen_but_not_written(
    operator, one_of_everything, label
):
    model = apps.get_model(label)
    row = model.objects.first()
    assert row is not None
    listing = operator.get(url(model, "changelist")).content.decode()
    assert url(model, "add") not in listing
    assert operator.get(url(model, "change", row.pk)).status_code == 200
    assert operator.get(url(model, "add")).status_code == 403
    assert operator.post(url(model, "change", row.pk), {}).status_code == 403
    assert operator.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_deleted_spend_is_found_by_the_user_id(operator, one_of_everything, alice):
    assert DeletedSpend.objects.filter(user_id=alice.pk).exists()
    listing = url(DeletedSpend, "changelist")
    assert (
        '<td class="field-cost">0.50</td>'
        in operator.get(listing, {"q": str(alice.pk)}).content.decode()
    )
    assert "field-cost" not in operator.get(listing, {"q": str(alice.pk + 1000)}).content.decode()


def test_a_pkce_flow_never_shows_its_state_digest(operator, one_of_everything):
    flow = PkceFlow.objects.get()
    page = operator.get(url(PkceFlow, "change", flow.pk)).content.decode()
    assert flow.state_digest not in page
