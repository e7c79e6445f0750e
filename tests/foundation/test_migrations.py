from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_migrations_create_every_table():
    tables = set(connection.introspection.table_names())
    for table in (
        "accounts_user",
        "accounts_openrouterkey",
        "catalog_catalogmodel",
        "chat_conversation",
        "chat_message",
    ):
        assert table in tables


@pytest.mark.django_db(transaction=True)
def test_migrations_unapply_and_reapply_cleanly():
    call_command("migrate", "chat", "zero", verbosity=0)
    assert "chat_message" not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert "chat_message" in connection.introspection.table_names()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suite_runs_on_postgresql_when_asked():
    assert connection.vendor == "postgresql"
