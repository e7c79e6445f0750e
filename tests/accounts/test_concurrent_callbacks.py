"""Two callbacks for one flow, really at the same time, store at most one key.

Both requests run against a live server (one thread each, each with its own PostgreSQL
connection). The test holds a row lock on the pending flow until both requests are waiting
on it, so both have already passed the session check when they race for the row: only the
conditional DELETE decides, and it lets exactly one through.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from chatapp.accounts.models import OpenRouterKey, PkceFlow
from tests.accounts.conftest import local_path, start_flow
from tests.eventually import eventually_blocking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def raw_connection() -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def get_without_redirect(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(request, timeout=20).status
    except urllib.error.HTTPError as answer:
        return answer.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_two_concurrent_callbacks_store_one_key_and_exchange_once(
    alice, live_server, fake_openrouter, caplog
):
    caplog.set_level(logging.INFO, logger="chatapp")
    client = Client()
    client.force_login(alice)
    flow = start_flow(client)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = live_server.url + local_path(flow.callback_url)
    statuses: list[int] = []

    with raw_connection() as locker:
        # Hold the flow's row: both callbacks pass the session check, then wait at the DELETE.
        locker.execute("SELECT id FROM accounts_pkceflow WHERE user_id = %s FOR UPDATE", [alice.pk])
        threads = [
            threading.Thread(target=lambda: statuses.append(get_without_redirect(url, cookie)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        eventually_blocking(
            lambda: waiting_on_locks() >= 2,
            timeout=20,
            interval=0.05,
            failure="the two callbacks never met at the row lock",
        )
        locker.rollback()
    for thread in threads:
        thread.join(30)

    assert statuses == [302, 302]
    exchanges = [r for r in fake_openrouter.requests() if r["path"].endswith("/auth/keys")]
    assert len(exchanges) == 1
    assert OpenRouterKey.objects.filter(user=alice).count() == 1
    assert not PkceFlow.objects.exists()
    messages = [record.getMessage() for record in caplog.records]
    assert sum("connected an OpenRouter key with PKCE" in m for m in messages) == 1
    assert sum(m.endswith("failed: already_used") for m in messages) == 1
