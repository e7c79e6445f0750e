"""Shared fixtures: users alice and bob, and markers for tests that need real services."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from chatapp.accounts.models import User

# Fixtures every folder may use: the stand-in OpenRouter, and the engine's signed-in sockets.
pytest_plugins = ["tests.fakes", "tests.chat.engine"]

ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = bool(settings.REDIS_URL)
    has_chromium = bool(shutil.which("chromium") or Path("/usr/bin/chromium").exists())
    in_ci = bool(os.environ.get("CI"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://…"))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL=redis://…"))
        # CI never skips browser tests: without Chromium they fail there, loudly.
        if "browser" in item.keywords and not has_chromium and not in_ci:
            item.add_marker(pytest.mark.skip(reason="Chromium is not installed"))
    # Browser tests go last: Playwright's sync API keeps an event loop running in this thread
    # for the rest of the session, and no async test can start a loop of its own after it.
    items.sort(key=lambda item: "browser" in item.keywords)


@pytest.fixture(autouse=True)
def attachment_files(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Attachments go to a folder of the test's own, never to the checkout's media/."""
    root = tmp_path_factory.mktemp("media")
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root},
        },
    }
    return root


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", "correct horse battery")


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.com", "correct horse battery")


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user(
        "olivia", "olivia@example.com", "correct horse battery", is_staff=True
    )


@pytest.fixture(scope="session", autouse=True)
def orm_thread_connections_closed(django_db_setup: None) -> Iterator[None]:
    """Async tests query through asgiref's one shared ORM thread, whose connection would outlive
    the session and keep PostgreSQL from dropping the test database; close it first."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
