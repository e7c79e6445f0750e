"""sync_models against the stand-in: exact prices, idempotent, removed models kept inactive."""

from __future__ import annotations

import socket
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.test import override_settings

from chatapp.catalog.models import CatalogModel, CatalogSync
from chatapp.catalog.services import catalog_fields, catalog_sync, price_from
from chatapp.openrouter.fake.catalogue import build_catalogue

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, dict]:
    return {row.model_id: model_to_dict(row) for row in CatalogModel.objects.all()}


def sync_models() -> str:
    out = StringIO()
    call_command("sync_models", stdout=out)
    return out.getvalue()


def test_it_stores_every_model_with_exact_decimal_prices(fake_openrouter):
    output = sync_models()

    catalogue = build_catalogue()
    assert CatalogModel.objects.count() == len(catalogue)
    assert f"Synced {len(catalogue)} models: {len(catalogue)} new" in output
    for model in catalogue:
        row = CatalogModel.objects.get(model_id=model["id"])
        pricing = model.get("pricing") or {}
        for field, key in [("prompt_price", "prompt"), ("completion_price", "completion")]:
            expected = pricing.get(key)
            if expected is None or expected == "-1":
                assert getattr(row, field) is None
            else:
                assert getattr(row, field) == Decimal(expected)


def test_it_stores_the_details_of_a_model(fake_openrouter):
    sync_models()

    row = CatalogModel.objects.get(model_id="anthropic/claude-3.5-sonnet")
    assert row.name == "Anthropic: Claude 3.5 Sonnet"
    assert row.prompt_price == Decimal("0.000003")
    assert row.completion_price == Decimal("0.000015")
    assert row.context_length == 200000
    assert row.input_modalities == ["text", "image", "file"]
    assert row.output_modalities == ["text"]
    assert "max_tokens" in row.supported_parameters
    assert row.is_free is False
    assert row.is_active is True
    assert row.upstream_created is not None


def test_it_marks_free_models(fake_openrouter):
    sync_models()

    assert CatalogModel.objects.get(model_id="meta-llama/llama-3.1-8b-instruct:free").is_free
    assert not CatalogModel.objects.get(model_id="openai/gpt-4o-mini").is_free


def test_it_stores_unknown_prices_as_none_never_negative(fake_openrouter):
    sync_models()

    auto = CatalogModel.objects.get(model_id="openrouter/auto")
    unpriced = CatalogModel.objects.get(model_id="undi95/remm-slerp-l2-13b")
    assert (auto.prompt_price, auto.completion_price) == (None, None)
    assert (unpriced.prompt_price, unpriced.completion_price) == (None, None)
    assert not auto.is_free
    assert not CatalogModel.objects.filter(prompt_price__lt=0).exists()


def test_it_changes_nothing_when_run_twice(fake_openrouter):
    sync_models()
    before = snapshot()

    output = sync_models()

    assert snapshot() == before
    assert "0 new, 0 changed, 0 marked inactive" in output


def test_it_marks_a_model_that_disappeared_inactive_and_keeps_it(fake_openrouter):
    sync_models()
    fake_openrouter.remove_model("openai/gpt-4o")

    output = sync_models()

    gone = CatalogModel.objects.get(model_id="openai/gpt-4o")
    assert gone.is_active is False
    assert "1 marked inactive" in output
    assert CatalogModel.objects.filter(is_active=True).count() == len(build_catalogue()) - 1


def test_it_reactivates_a_model_that_came_back(fake_openrouter):
    sync_models()
    fake_openrouter.remove_model("openai/gpt-4o")
    sync_models()
    fake_openrouter.clear()

    sync_models()

    assert CatalogModel.objects.get(model_id="openai/gpt-4o").is_active


def test_it_records_each_sync(fake_openrouter):
    sync_models()

    sync = CatalogSync.objects.latest()
    assert sync.ok
    assert sync.finished_at is not None
    assert sync.models_seen == len(build_catalogue())


def test_it_keeps_the_stored_catalogue_when_openrouter_is_unreachable(fake_openrouter):
    sync_models()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]

    with (
        override_settings(OPENROUTER_BASE_URL=f"http://127.0.0.1:{dead}/api/v1"),
        pytest.raises(CommandError, match="Could not reach OpenRouter"),
    ):
        sync_models()

    assert CatalogModel.objects.filter(is_active=True).count() == len(build_catalogue())
    failed = CatalogSync.objects.latest()
    assert (failed.ok, failed.models_deactivated) == (False, 0)
    assert "Could not reach OpenRouter" in failed.error


def test_it_reads_prices_exactly():
    assert price_from("0.00000015") == Decimal("0.00000015")
    assert price_from("-1") is None
    assert price_from(None) is None
    assert price_from("abc") is None
    assert price_from("0") == 0


def test_it_reads_modalities_from_the_older_modality_string():
    fields = catalog_fields({"id": "x/y", "architecture": {"modality": "text+image->text"}})

    assert fields["input_modalities"] == ["text", "image"]
    assert fields["output_modalities"] == ["text"]


def test_it_treats_zero_prices_as_free():
    fields = catalog_fields({"id": "x/y", "pricing": {"prompt": "0", "completion": "0"}})

    assert fields["is_free"] is True


def test_it_syncs_a_given_payload_without_fetching():
    sync = catalog_sync(models=[{"id": "x/y", "name": "X Y", "pricing": {"prompt": "0.1"}}])

    assert sync.ok
    assert CatalogModel.objects.get(model_id="x/y").prompt_price == Decimal("0.1")
