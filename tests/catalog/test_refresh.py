"""The catalogue refreshes itself in the background when old, and survives OpenRouter outages."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from chatapp.catalog.models import CatalogModel, CatalogSync
from chatapp.catalog.services import (
    acatalog_refresh_if_stale,
    catalog_is_stale,
    catalog_refresh_if_stale,
    catalog_sync,
)

# The refresh runs in another thread: it must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def auto_refresh_on():
    with override_settings(CHATAPP_CATALOG_AUTO_REFRESH=True):
        yield


def model_requests(fake) -> list[dict]:
    return [r for r in fake.requests() if r["path"] == "/api/v1/models"]


def age_last_sync(seconds: int) -> None:
    CatalogSync.objects.update(started_at=timezone.now() - timedelta(seconds=seconds))


def test_it_refreshes_an_empty_catalogue_in_the_background(fake_openrouter):
    thread = catalog_refresh_if_stale()

    assert thread is not None
    thread.join(30)
    assert CatalogModel.objects.filter(model_id="openai/gpt-4o-mini").exists()
    assert CatalogSync.objects.latest().ok


def test_it_leaves_a_fresh_catalogue_alone(fake_openrouter):
    catalog_sync()
    fake_openrouter.clear()

    assert catalog_refresh_if_stale() is None
    assert model_requests(fake_openrouter) == []


def test_it_refreshes_a_catalogue_older_than_the_max_age(fake_openrouter):
    catalog_sync()
    with override_settings(CHATAPP_CATALOG_MAX_AGE=3600):
        age_last_sync(3601)

        thread = catalog_refresh_if_stale()
        assert thread is not None
        thread.join(30)

    assert len(model_requests(fake_openrouter)) == 2
    assert not catalog_is_stale()


def test_it_returns_before_the_refresh_finishes_and_starts_only_one(fake_openrouter):
    # A server that accepts the connection and never answers: the fetch hangs until closed.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1"
    with override_settings(OPENROUTER_BASE_URL=url, OPENROUTER_REQUEST_TIMEOUT=10):
        thread = catalog_refresh_if_stale()
        assert thread is not None
        assert thread.is_alive()  # the caller got control back while the fetch still hangs
        assert catalog_refresh_if_stale() is None  # one refresh at a time
        accepted, _ = silent.accept()
        accepted.close()  # the fetch fails now
        thread.join(30)
    silent.close()

    assert CatalogSync.objects.latest().ok is False


def test_it_keeps_serving_the_stored_catalogue_when_openrouter_is_down(fake_openrouter):
    catalog_sync()
    count = CatalogModel.objects.filter(is_active=True).count()
    age_last_sync(10 * 24 * 3600)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]

    with override_settings(OPENROUTER_BASE_URL=f"http://127.0.0.1:{dead}/api/v1"):
        thread = catalog_refresh_if_stale()
        assert thread is not None
        thread.join(30)

    assert CatalogModel.objects.filter(is_active=True).count() == count
    assert CatalogSync.objects.latest().ok is False


def test_it_does_not_retry_on_every_request_after_a_failure(fake_openrouter):
    CatalogSync.objects.create(ok=False, finished_at=timezone.now(), error="down")

    assert catalog_is_stale() is False


def test_it_retries_a_while_after_a_failure(fake_openrouter):
    CatalogSync.objects.create(
        ok=False, finished_at=timezone.now() - timedelta(minutes=10), error="down"
    )

    assert catalog_is_stale() is True


async def test_it_has_an_async_twin(fake_openrouter):
    thread = await acatalog_refresh_if_stale()

    assert thread is not None
    thread.join(30)
    assert await CatalogModel.objects.filter(is_active=True).acount() > 200
    await sync_to_async(connections.close_all)()  # the ORM's worker thread keeps one open


def test_it_can_be_turned_off(fake_openrouter):
    with override_settings(CHATAPP_CATALOG_AUTO_REFRESH=False):
        assert catalog_refresh_if_stale() is None

    assert model_requests(fake_openrouter) == []
