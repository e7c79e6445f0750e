"""The key never leaves the server: not in logs, the database in clear, the admin, or pages."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from chatapp.accounts import pkce
from chatapp.accounts.keys import key_store, resolve_api_key
from chatapp.accounts.models import OpenRouterKey, User
from tests.accounts.conftest import local_path, location_of, query_of, start_flow

PASTED_KEY = "sk-or-v1-" + "7b" * 32
REFUSED_KEY = "sk-or-v1-invalid" + "9c" * 24


def link_with_pkce(client: Client) -> dict[str, str]:
    """Run the whole flow; return the secrets it involved."""
    flow = start_flow(client)
    verifier = client.session[pkce.SESSION_KEY]["verifier"]
    client.get(local_path(flow.callback_url), follow=True)
    return {"code": flow.code, "verifier": verifier}


def test_no_log_line_holds_a_code_a_verifier_or_a_key(
    alice, bob, alice_client, bob_client, fake_openrouter, caplog
):
    caplog.set_level(logging.DEBUG)
    secrets = link_with_pkce(alice_client)
    alice_key = resolve_api_key(alice).api_key
    # A failed exchange and a replay log too.
    failed = start_flow(alice_client)
    alice_client.get(f"/accounts/openrouter/callback/?state={failed.state}&code=wrong{failed.code}")
    alice_client.get(local_path(failed.callback_url))
    bob_client.post("/accounts/openrouter/paste/", {"api_key": PASTED_KEY})
    bob_client.post("/accounts/openrouter/paste/", {"api_key": REFUSED_KEY})
    bob_client.post("/accounts/openrouter/refresh/")
    alice_client.get("/accounts/")

    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "connected an OpenRouter key with PKCE" in logged  # the logs do say what happened
    for secret in (*secrets.values(), failed.code, alice_key, PASTED_KEY, REFUSED_KEY):
        assert secret not in logged
    assert "sk-or-v1-" not in logged


def all_stored_text() -> str:
    """Every value of every row of every table Django knows, plus decoded sessions."""
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._default_manager.values_list():
            chunks.append(" ".join(str(value) for value in row))
    chunks.extend(str(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(chunks)


def test_no_table_holds_a_key_in_clear(alice, bob, alice_client, fake_openrouter):
    link_with_pkce(alice_client)
    key_store(user=bob, api_key=PASTED_KEY, source="pasted")
    alice_key = resolve_api_key(alice).api_key
    stored = all_stored_text()
    assert OpenRouterKey.objects.count() == 2
    assert alice_key not in stored
    assert PASTED_KEY not in stored
    assert "sk-or-v1-" not in stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_a_pg_dump_holds_no_key_in_clear(alice, bob, fake_openrouter):
    client = Client()
    client.force_login(alice)
    link_with_pkce(client)
    key_store(user=bob, api_key=PASTED_KEY, source="pasted")
    alice_key = resolve_api_key(alice).api_key
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params["PASSWORD"] or ""}
    command = ["pg_dump", "--no-owner", "--dbname", params["NAME"]]
    for flag, value in (("--host", params["HOST"]), ("--port", params["PORT"])):
        if value:
            command += [flag, str(value)]
    if params["USER"]:
        command += ["--username", params["USER"]]
    dump = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "accounts_openrouterkey" in dump.stdout
    assert alice_key not in dump.stdout
    assert PASTED_KEY not in dump.stdout
    assert "sk-or-v1-" not in dump.stdout


@pytest.fixture
def admin_client(db) -> Client:
    admin = User.objects.create_superuser("root", "root@example.com", "correct horse battery")
    client = Client()
    client.force_login(admin)
    return client


def test_the_admin_shows_the_masked_hint_never_the_key_or_its_ciphertext(alice, admin_client):
    row = key_store(user=alice, api_key=PASTED_KEY, source="pasted")
    pages = [
        "/admin/accounts/openrouterkey/",
        f"/admin/accounts/openrouterkey/{row.pk}/change/",
        f"/admin/accounts/openrouterkey/{row.pk}/delete/",
        f"/admin/accounts/user/{alice.pk}/change/",
        f"/admin/accounts/user/{alice.pk}/delete/",
        "/admin/accounts/openrouterkey/?q=7b7b",
    ]
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert PASTED_KEY not in text, path
        assert PASTED_KEY[9:-4] not in text, path
        assert row.ciphertext not in text, path
        assert row.ciphertext[:40] not in text, path
    assert (
        row.masked
        in admin_client.get(f"/admin/accounts/openrouterkey/{row.pk}/change/").content.decode()
    )


def test_the_admin_cannot_edit_or_add_a_key(alice, admin_client):
    row = key_store(user=alice, api_key=PASTED_KEY, source="pasted")
    admin_client.post(
        f"/admin/accounts/openrouterkey/{row.pk}/change/",
        {"ciphertext": "x", "hint": "\u2026evil", "is_valid": "on"},
    )
    assert OpenRouterKey.objects.get(pk=row.pk).ciphertext == row.ciphertext
    assert admin_client.get("/admin/accounts/openrouterkey/add/").status_code == 403


def test_a_page_with_a_linked_key_shows_only_the_masked_hint(alice, alice_client, fake_openrouter):
    link_with_pkce(alice_client)
    key = resolve_api_key(alice).api_key
    for path in ("/accounts/", "/"):
        text = alice_client.get(path).content.decode()
        assert key not in text, path
        assert key[9:-4] not in text, path


@pytest.mark.django_db(transaction=True)
async def test_an_error_report_from_inside_the_exchange_shows_no_secret(
    alice, fake_openrouter, monkeypatch
):
    """Error e-mails and debug pages list each frame's variables; these frames hide theirs."""
    from django.views.debug import ExceptionReporter

    async def broken_write(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(OpenRouterKey.objects, "aupdate_or_create", broken_write)
    start = await pkce.apkce_start(user=alice)
    callback = location_of(start.authorize_url)
    state, code = query_of(callback)["state"], query_of(callback)["code"]
    try:
        await pkce.apkce_complete(user=alice, pending=start.session_data, state=state, code=code)
    except RuntimeError as exc:
        report = ExceptionReporter(None, RuntimeError, exc, exc.__traceback__.tb_next)
        frames = report.get_traceback_data()["frames"]
    text = repr([(frame["function"], frame["vars"]) for frame in frames])
    assert "apkce_complete" in text
    assert "********" in text
    for secret in (code, start.session_data["verifier"]):
        assert secret not in text
    assert "sk-or-v1-" not in text


def test_the_paste_view_hides_the_key_from_error_reports(alice_client, fake_openrouter):
    from django.views.debug import SafeExceptionReporterFilter

    response = alice_client.post("/accounts/openrouter/paste/", {"api_key": PASTED_KEY})
    request = response.wsgi_request
    assert request.sensitive_post_parameters == ("api_key",)
    shown = SafeExceptionReporterFilter().get_post_parameters(request)
    assert shown["api_key"] != PASTED_KEY
