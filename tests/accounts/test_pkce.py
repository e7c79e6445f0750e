"""Connect OpenRouter: the OAuth PKCE flow (RFC 7636, S256 only) against the stand-in."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from chatapp.accounts import pkce
from chatapp.accounts.keys import resolve_api_key
from chatapp.accounts.models import OpenRouterKey, PkceFlow
from tests.accounts.conftest import local_path, query_of, start_flow

UNRESERVED = re.compile(r"^[A-Za-z0-9\-._~]+$")


def exchanges(fake) -> list[dict]:
    return [r for r in fake.requests() if r["path"].endswith("/auth/keys")]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the verifier and challenge ---------------------------------------------------------------


def test_it_computes_the_rfc_7636_appendix_b_challenge():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_it_makes_43_character_verifiers_of_unreserved_characters_never_twice():
    verifiers = {pkce.new_code_verifier() for _ in range(200)}
    assert len(verifiers) == 200
    assert all(len(v) == 43 and UNRESERVED.match(v) for v in verifiers)


# --- start ------------------------------------------------------------------------------------


def test_start_redirects_to_openrouter_with_an_s256_challenge(alice_client, fake_openrouter):
    response = alice_client.post("/accounts/openrouter/start/")
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith(fake_openrouter.auth_url + "?")
    query = query_of(target)
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    callback = query["callback_url"]
    assert callback.startswith("http://localhost:8000/accounts/openrouter/callback/?state=")
    assert len(query_of(callback)["state"]) >= 43
    # The challenge is S256 of the verifier that only the session holds.
    pending = alice_client.session[pkce.SESSION_KEY]
    assert s256(pending["verifier"]) == query["code_challenge"]
    assert "verifier" not in target
    assert pending["verifier"] not in target


@override_settings(CHATAPP_SITE_URL="https://chat.example.com", ALLOWED_HOSTS=["*"])
def test_start_builds_the_callback_url_from_the_site_url_never_the_host_header(
    alice_client, fake_openrouter
):
    response = alice_client.post(
        "/accounts/openrouter/start/",
        HTTP_HOST="evil.example",
        HTTP_X_FORWARDED_HOST="evil.example",
    )
    callback = query_of(response["Location"])["callback_url"]
    assert callback.startswith("https://chat.example.com/accounts/openrouter/callback/?state=")
    assert "evil.example" not in response["Location"]


def test_start_keeps_the_flow_for_ten_minutes(alice, alice_client, fake_openrouter):
    alice_client.post("/accounts/openrouter/start/")
    flow = PkceFlow.objects.get(user=alice)
    lifetime = flow.expires_at - timezone.now()
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)
    state = alice_client.session[pkce.SESSION_KEY]["state"]
    # Only a digest of the state is stored in the table.
    assert flow.state_digest == hashlib.sha256(state.encode()).hexdigest()


def test_start_refuses_get(alice_client):
    assert alice_client.get("/accounts/openrouter/start/").status_code == 405


# --- the happy path ---------------------------------------------------------------------------


def test_it_links_the_key_that_openrouter_issues(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    response = alice_client.get(local_path(flow.callback_url))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    assert response["Referrer-Policy"] == "no-referrer"

    [exchange] = exchanges(fake_openrouter)
    assert exchange["method"] == "POST"
    assert exchange["json"]["code"] == flow.code
    assert exchange["json"]["code_challenge_method"] == "S256"
    assert s256(exchange["json"]["code_verifier"]) == flow.challenge

    key = OpenRouterKey.objects.get(user=alice)
    assert key.source == OpenRouterKey.Source.PKCE
    assert key.is_valid
    resolved = resolve_api_key(alice)
    assert resolved is not None
    assert resolved.paid_by == "user"
    assert resolved.api_key.startswith("sk-or-v1-")
    assert key.masked == "sk-or-v1-\u2026" + resolved.api_key[-4:]
    # Limit and usage come from GET /key right away.
    assert key.checked_at is not None
    assert key.usage is not None
    assert not PkceFlow.objects.filter(user=alice).exists()
    assert pkce.SESSION_KEY not in alice_client.session


def test_the_account_page_says_the_key_is_connected(alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    page = alice_client.get(local_path(flow.callback_url), follow=True)
    text = page.content.decode()
    assert "OpenRouter is connected" in text
    assert "sk-or-v1-\u2026" in text
    assert "Connected" in text


def test_connecting_again_replaces_the_key(alice, alice_client, fake_openrouter):
    alice_client.get(local_path(start_flow(alice_client).callback_url))
    first = resolve_api_key(alice).api_key
    alice_client.get(local_path(start_flow(alice_client).callback_url))
    assert OpenRouterKey.objects.filter(user=alice).count() == 1
    assert resolve_api_key(alice).api_key != first


# --- refusals ---------------------------------------------------------------------------------


def test_it_refuses_a_forged_state(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    forged = f"/accounts/openrouter/callback/?state={secrets.token_urlsafe(32)}&code={flow.code}"
    response = alice_client.get(forged, follow=True)
    assert "could not be verified" in response.content.decode()
    assert exchanges(fake_openrouter) == []
    assert not OpenRouterKey.objects.filter(user=alice).exists()
    # The real flow is untouched by the forgery and still completes.
    alice_client.get(local_path(flow.callback_url))
    assert OpenRouterKey.objects.filter(user=alice).exists()


def test_it_refuses_a_callback_without_state(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    response = alice_client.get(f"/accounts/openrouter/callback/?code={flow.code}", follow=True)
    assert "could not be verified" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_it_refuses_another_users_flow(alice, bob, alice_client, bob_client, fake_openrouter):
    """Bob cannot make Alice's browser link Bob's OpenRouter account (key injection)."""
    bobs = start_flow(bob_client)
    response = alice_client.get(local_path(bobs.callback_url), follow=True)
    assert "could not be verified" in response.content.decode()
    assert exchanges(fake_openrouter) == []
    assert not OpenRouterKey.objects.exists()


def test_it_refuses_a_replayed_callback(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    alice_client.get(local_path(flow.callback_url))
    stored = OpenRouterKey.objects.get(user=alice).ciphertext
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "could not be verified" in response.content.decode()
    assert len(exchanges(fake_openrouter)) == 1
    assert OpenRouterKey.objects.get(user=alice).ciphertext == stored


@pytest.mark.django_db(transaction=True)
async def test_the_flow_row_admits_one_completion_even_with_the_session_data_replayed(
    alice, fake_openrouter
):
    """The session is not the gate: a copy of its data is worthless once the row is claimed."""
    start = await pkce.apkce_start(user=alice)
    pending = start.session_data
    flow = local_path(location_of_async(start.authorize_url))
    state, code = query_of(flow)["state"], query_of(flow)["code"]
    await pkce.apkce_complete(user=alice, pending=pending, state=state, code=code)
    with pytest.raises(pkce.PkceFailure) as failure:
        await pkce.apkce_complete(user=alice, pending=dict(pending), state=state, code=code)
    assert failure.value.kind == "already_used"
    assert len(exchanges(fake_openrouter)) == 1


def test_it_refuses_an_expired_flow(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    session = alice_client.session
    session[pkce.SESSION_KEY] = {**session[pkce.SESSION_KEY], "expires_at": 0}
    session.save()
    PkceFlow.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "expired" in response.content.decode()
    assert exchanges(fake_openrouter) == []
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_it_refuses_a_flow_whose_row_expired_even_if_the_session_says_otherwise(
    alice, alice_client, fake_openrouter
):
    flow = start_flow(alice_client)
    PkceFlow.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "already completed or has expired" in response.content.decode()
    assert exchanges(fake_openrouter) == []


def test_it_says_so_when_openrouter_sends_no_code(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    response = alice_client.get(f"/accounts/openrouter/callback/?state={flow.state}", follow=True)
    assert "without an authorisation code" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_it_stores_nothing_when_openrouter_refuses_the_code(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    bogus = f"/accounts/openrouter/callback/?state={flow.state}&code=not-the-code"
    response = alice_client.get(bogus, follow=True)
    assert "refused the authorisation code" in response.content.decode()
    assert len(exchanges(fake_openrouter)) == 1
    assert not OpenRouterKey.objects.filter(user=alice).exists()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_stores_nothing_when_openrouter_fails_with_a_server_error(
    alice, alice_client, failing_upstream, status
):
    failing_upstream.status = status
    flow = start_flow(alice_client)
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert f"OpenRouter had a problem finishing the connection (error {status})" in (
        response.content.decode()
    )
    assert any(call.endswith("/auth/keys") for call in failing_upstream.calls)
    assert not OpenRouterKey.objects.filter(user=alice).exists()


@pytest.mark.parametrize("status", [400, 401, 403])
def test_it_stores_nothing_when_openrouter_answers_4xx(
    alice, alice_client, failing_upstream, status
):
    failing_upstream.status = status
    flow = start_flow(alice_client)
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "refused the authorisation code" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_it_stores_nothing_when_openrouter_times_out(alice, alice_client, failing_upstream):
    failing_upstream.hang = True
    flow = start_flow(alice_client)
    response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "did not answer in time" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_it_stores_nothing_when_openrouter_cannot_be_reached(alice, alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    with override_settings(OPENROUTER_BASE_URL=f"http://127.0.0.1:{closed_port()}/api/v1"):
        response = alice_client.get(local_path(flow.callback_url), follow=True)
    assert "did not answer in time" in response.content.decode()
    assert not OpenRouterKey.objects.filter(user=alice).exists()


def test_a_failed_callback_also_sends_no_referrer(alice_client, fake_openrouter):
    flow = start_flow(alice_client)
    response = alice_client.get(f"/accounts/openrouter/callback/?state=x&code={flow.code}")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_it_accepts_a_code_appended_with_a_second_question_mark():
    assert pkce.split_callback_query("abc?code=xyz", "") == ("abc", "xyz")
    assert pkce.split_callback_query("abc", "xyz") == ("abc", "xyz")


# --- helpers ----------------------------------------------------------------------------------


def location_of_async(url: str) -> str:
    from tests.accounts.conftest import location_of

    return location_of(url)


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_user_has_at_most_five_pending_flows(alice, alice_client, fake_openrouter):
    for _ in range(8):
        alice_client.post("/accounts/openrouter/start/")
    assert PkceFlow.objects.filter(user=alice).count() == pkce.MAX_PENDING_PER_USER
    # The newest one, the one in the session, still completes.
    alice_client.get(local_path(start_flow(alice_client).callback_url))
    assert OpenRouterKey.objects.filter(user=alice).exists()
