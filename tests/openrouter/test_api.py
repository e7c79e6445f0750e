"""The plain calls: generation stats, key info, the PKCE exchange, the model list."""

from __future__ import annotations

import base64
import hashlib
import http.client
import secrets
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chatapp.openrouter import (
    InvalidKey,
    OpenRouterError,
    Usage,
    aexchange_code,
    aget_generation,
    aget_key,
    alist_models,
)
from tests.openrouter.helpers import KEY, collect, final_finish, of_type


def authorize(fake, challenge: str, callback: str = "http://localhost:8000/account/cb") -> str:
    """The browser step: GET /auth and read the code from the redirect."""
    query = urlencode(
        {"callback_url": callback, "code_challenge": challenge, "code_challenge_method": "S256"}
    )
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    connection.request("GET", f"/auth?{query}")
    response = connection.getresponse()
    location = response.getheader("Location") or ""
    connection.close()
    assert response.status == 302
    assert location.startswith(callback + "?code=")
    return parse_qs(urlsplit(location).query)["code"][0]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def test_it_fetches_the_cost_of_a_finished_generation(fake_openrouter):
    events = await collect("hello [[tokens:7]]")
    finish, usage = final_finish(events)[0], of_type(events, Usage)[0]

    generation = await aget_generation(api_key=KEY, generation_id=finish.generation_id)

    assert generation is not None
    assert generation.total_cost == usage.cost
    assert generation.completion_tokens == 7
    assert generation.prompt_tokens == usage.prompt_tokens
    assert (generation.provider, generation.model, generation.finish_reason) == (
        "OpenAI",
        "openai/gpt-4o-mini",
        "stop",
    )
    sent = fake_openrouter.requests()[-1]
    assert sent["query"] == {"id": finish.generation_id}


async def test_it_returns_none_for_a_generation_that_is_not_ready(fake_openrouter):
    assert await aget_generation(api_key=KEY, generation_id="gen-unknown") is None


async def test_it_reads_key_limits_and_usage_as_decimals(fake_openrouter):
    key = "sk-or-v1-limited-0001"
    await collect("hello", key=key)

    info = await aget_key(api_key=key)

    assert info.limit == Decimal(10)
    assert info.usage > 0
    assert info.limit_remaining == Decimal(10) - info.usage
    assert info.is_free_tier is False


async def test_it_reads_an_unlimited_key(fake_openrouter):
    info = await aget_key(api_key="sk-or-v1-fresh")

    assert (info.limit, info.limit_remaining, info.usage) == (None, None, Decimal(0))


async def test_it_raises_invalid_key_for_a_refused_key(fake_openrouter):
    with pytest.raises(InvalidKey):
        await aget_key(api_key="sk-or-v1-invalid")


async def test_it_exchanges_a_pkce_code_for_a_key(fake_openrouter):
    verifier, challenge = pkce_pair()
    code = authorize(fake_openrouter, challenge)

    key = await aexchange_code(code=code, code_verifier=verifier)

    assert key.startswith("sk-or-v1-")
    sent = fake_openrouter.requests()[-1]
    assert sent["path"] == "/api/v1/auth/keys"
    assert sent["json"] == {
        "code": code,
        "code_verifier": verifier,
        "code_challenge_method": "S256",
    }


async def test_it_refuses_a_wrong_verifier(fake_openrouter):
    _, challenge = pkce_pair()
    code = authorize(fake_openrouter, challenge)

    with pytest.raises(OpenRouterError) as caught:
        await aexchange_code(code=code, code_verifier="not-the-verifier")

    assert caught.value.status == 403


async def test_it_accepts_a_code_only_once(fake_openrouter):
    verifier, challenge = pkce_pair()
    code = authorize(fake_openrouter, challenge)
    await aexchange_code(code=code, code_verifier=verifier)

    with pytest.raises(OpenRouterError):
        await aexchange_code(code=code, code_verifier=verifier)


async def test_it_lists_the_models(fake_openrouter):
    models = await alist_models()

    ids = {model["id"] for model in models}
    assert len(models) >= 200
    assert {"openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"} <= ids
    assert "meta-llama/llama-3.1-8b-instruct:free" in ids


async def test_it_sends_attribution_on_every_call(fake_openrouter):
    await alist_models()
    await aget_key(api_key=KEY)
    await aget_generation(api_key=KEY, generation_id="gen-x")
    with pytest.raises(OpenRouterError):
        await aexchange_code(code="nope", code_verifier="nope")

    for sent in fake_openrouter.requests():
        assert sent["headers"]["http-referer"] == "http://localhost:8000"
        assert sent["headers"]["x-title"] == "chatapp"
