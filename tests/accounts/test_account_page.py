"""The account page: key status, paste a key, refresh, disconnect, the own-key cap."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from chatapp.accounts.keys import key_store, resolve_api_key
from chatapp.accounts.models import OpenRouterKey

GOOD_KEY = "sk-or-v1-" + "5a" * 32
LIMITED_KEY = "sk-or-v1-limited" + "c3" * 24
REFUSED_KEY = "sk-or-v1-invalid" + "d4" * 24
OPERATOR_KEY = "sk-or-v1-" + "0e" * 32

POST_ENDPOINTS = [
    "/accounts/openrouter/start/",
    "/accounts/openrouter/paste/",
    "/accounts/openrouter/refresh/",
    "/accounts/openrouter/disconnect/",
    "/accounts/cap/",
]


def key_checks(fake) -> list[dict]:
    return [r for r in fake.requests() if r["path"].endswith("/key")]


# --- access -----------------------------------------------------------------------------------


def test_the_account_page_needs_a_login(db):
    response = Client().get("/accounts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/")


@pytest.mark.parametrize("path", [*POST_ENDPOINTS, "/accounts/openrouter/callback/?state=a"])
def test_every_key_endpoint_needs_a_login(db, path):
    client = Client()
    response = client.post(path) if "callback" not in path else client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_every_key_action_needs_a_csrf_token(alice, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(path, {"api_key": GOOD_KEY}).status_code == 403
    assert not OpenRouterKey.objects.filter(user=alice).exists()


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_every_key_action_refuses_get(alice_client, path):
    assert alice_client.get(path).status_code == 405


# --- the page ---------------------------------------------------------------------------------


@override_settings(CHATAPP_SITE_URL="http://testserver")
def test_a_new_user_sees_connect_openrouter_and_a_link_to_their_usage(alice_client):
    text = alice_client.get("/accounts/").content.decode()
    assert '<button type="submit" class="button primary">Connect OpenRouter</button>' in text
    assert 'href="/usage/">My usage</a>' in text
    assert 'href="/accounts/" aria-current="page">Account</a>' in text
    assert "Disconnect" not in text


def test_the_page_shows_the_masked_key_and_what_openrouter_says_about_it(
    alice, alice_client, fake_openrouter
):
    key_store(user=alice, api_key=LIMITED_KEY, source="pasted")
    text = alice_client.get("/accounts/").content.decode()
    assert "sk-or-v1-\u2026" + LIMITED_KEY[-4:] in text
    assert LIMITED_KEY not in text
    assert LIMITED_KEY[9:-4] not in text
    assert "Pasted by hand" in text
    # The stand-in gives "limited" keys a $10 limit.
    assert "$10.00" in text
    assert "Remaining" in text
    assert "Used" in text
    assert len(key_checks(fake_openrouter)) == 1


def test_the_page_reuses_fresh_figures_instead_of_asking_again(
    alice, alice_client, fake_openrouter
):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    alice_client.get("/accounts/")
    alice_client.get("/accounts/")
    assert len(key_checks(fake_openrouter)) == 1
    OpenRouterKey.objects.update(checked_at=timezone.now() - timedelta(minutes=5))
    alice_client.get("/accounts/")
    assert len(key_checks(fake_openrouter)) == 2


def test_the_page_marks_a_key_that_openrouter_refuses(alice, alice_client, fake_openrouter):
    key_store(user=alice, api_key=REFUSED_KEY, source="pasted")
    text = alice_client.get("/accounts/").content.decode()
    assert "Not accepted" in text
    assert "OpenRouter no longer accepts this key" in text
    assert OpenRouterKey.objects.get(user=alice).is_valid is False


def test_the_page_still_renders_when_openrouter_is_down(alice, alice_client):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    with override_settings(OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1"):
        response = alice_client.get("/accounts/")
    assert response.status_code == 200
    assert "Could not refresh the figures" in response.content.decode()
    assert OpenRouterKey.objects.get(user=alice).is_valid is True


@override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="all")
def test_the_page_says_when_the_operator_key_pays(alice_client):
    assert (
        "shared OpenRouter key, paid by the operator"
        in alice_client.get("/accounts/").content.decode()
    )


@override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="all")
def test_the_page_says_when_the_operator_key_is_denied(alice, alice_client):
    alice.operator_key_access = "deny"
    alice.save()
    text = alice_client.get("/accounts/").content.decode()
    assert "shared OpenRouter key is not available to your account" in text


def test_the_page_says_nothing_about_an_operator_key_that_does_not_exist(alice_client):
    assert "shared OpenRouter key" not in alice_client.get("/accounts/").content.decode()


# --- paste ------------------------------------------------------------------------------------


def test_a_pasted_key_is_checked_then_stored(alice, alice_client, fake_openrouter):
    response = alice_client.post("/accounts/openrouter/paste/", {"api_key": f"  {GOOD_KEY} "})
    assert response.status_code == 302
    [check] = key_checks(fake_openrouter)
    assert check["headers"]["authorization"] == f"Bearer {GOOD_KEY}"
    key = OpenRouterKey.objects.get(user=alice)
    assert key.source == "pasted"
    assert key.checked_at is not None
    assert resolve_api_key(alice).api_key == GOOD_KEY


def test_a_pasted_key_that_openrouter_refuses_is_not_stored_nor_echoed(
    alice, alice_client, fake_openrouter
):
    response = alice_client.post("/accounts/openrouter/paste/", {"api_key": REFUSED_KEY})
    assert response.status_code == 400
    text = response.content.decode()
    assert "OpenRouter does not accept this key" in text
    assert REFUSED_KEY not in text
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_something_that_is_not_a_key_is_refused_without_asking_openrouter(
    alice, alice_client, fake_openrouter
):
    response = alice_client.post("/accounts/openrouter/paste/", {"api_key": "hunter2"})
    assert response.status_code == 400
    assert "start with \u201csk-or-\u201d" in response.content.decode()
    assert "hunter2" not in response.content.decode()
    assert key_checks(fake_openrouter) == []


def test_a_pasted_key_is_not_stored_when_openrouter_cannot_check_it(alice, alice_client):
    with override_settings(OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1"):
        response = alice_client.post("/accounts/openrouter/paste/", {"api_key": GOOD_KEY})
    assert response.status_code == 400
    assert "could not be checked" in response.content.decode()
    assert GOOD_KEY not in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


# --- refresh and disconnect -------------------------------------------------------------------


def test_refresh_asks_openrouter_again(alice, alice_client, fake_openrouter):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    response = alice_client.post("/accounts/openrouter/refresh/", follow=True)
    assert "Limit and usage are up to date" in response.content.decode()
    assert OpenRouterKey.objects.get(user=alice).checked_at is not None


def test_refresh_makes_a_key_valid_again_once_openrouter_accepts_it(
    alice, alice_client, fake_openrouter
):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    OpenRouterKey.objects.update(is_valid=False)
    alice_client.post("/accounts/openrouter/refresh/")
    assert OpenRouterKey.objects.get(user=alice).is_valid is True


def test_disconnect_deletes_the_ciphertext(alice, alice_client):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    response = alice_client.post("/accounts/openrouter/disconnect/", follow=True)
    assert "deleted from this server" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()
    assert resolve_api_key(alice) is None


def test_disconnect_touches_only_the_users_own_key(alice, bob, alice_client):
    key_store(user=bob, api_key=GOOD_KEY, source="pasted")
    alice_client.post("/accounts/openrouter/disconnect/")
    assert OpenRouterKey.objects.filter(user=bob).exists()


# --- the own-key cap --------------------------------------------------------------------------


def test_the_user_sets_and_clears_a_monthly_cap_on_their_own_key(alice, alice_client):
    assert alice_client.post("/accounts/cap/", {"own_key_monthly_cap": "12.5"}).status_code == 302
    alice.refresh_from_db()
    assert alice.own_key_monthly_cap == Decimal("12.5")
    assert 'value="12.5000"' in alice_client.get("/accounts/").content.decode()
    alice_client.post("/accounts/cap/", {"own_key_monthly_cap": ""})
    alice.refresh_from_db()
    assert alice.own_key_monthly_cap is None


def test_a_negative_cap_is_refused_with_a_reason(alice, alice_client):
    response = alice_client.post("/accounts/cap/", {"own_key_monthly_cap": "-1"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    alice.refresh_from_db()
    assert alice.own_key_monthly_cap is None


def test_the_page_does_not_wait_long_for_a_slow_openrouter(
    alice, alice_client, failing_upstream, monkeypatch
):
    from chatapp.accounts import views

    failing_upstream.hang = True
    monkeypatch.setattr(views, "PAGE_REFRESH_TIMEOUT", 0.2)
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    with override_settings(OPENROUTER_REQUEST_TIMEOUT=10):
        response = alice_client.get("/accounts/")
    assert response.status_code == 200
    assert "did not answer quickly" in response.content.decode()


def test_the_page_warns_when_it_is_open_at_another_address_than_the_site_url(alice_client):
    with override_settings(CHATAPP_SITE_URL="http://testserver"):
        assert "will send you back to" not in alice_client.get("/accounts/").content.decode()
    with override_settings(CHATAPP_SITE_URL="https://chat.example.com"):
        text = alice_client.get("/accounts/").content.decode()
    assert "OpenRouter will send you back to https://chat.example.com" in text


def test_connect_is_disabled_when_the_page_is_open_at_another_address(alice_client):
    with override_settings(CHATAPP_SITE_URL="https://chat.example.com"):
        text = alice_client.get("/accounts/").content.decode()
    assert re.search(r"<button [^>]*disabled[^>]*>Connect OpenRouter</button>", text)


def test_used_shows_the_exact_amount_openrouter_reported(alice, alice_client):
    key_store(user=alice, api_key=GOOD_KEY, source="pasted")
    OpenRouterKey.objects.filter(user=alice).update(
        usage=Decimal("0.00001234"),
        limit=Decimal("10"),
        limit_remaining=Decimal("9.99998766"),
        checked_at=timezone.now(),
    )
    text = re.sub(r"<[^>]+>", "", alice_client.get("/accounts/").content.decode())
    assert "Used$0.00001234" in text.replace("\n", "").replace(" ", "")
    assert "$9.99998766" in text
