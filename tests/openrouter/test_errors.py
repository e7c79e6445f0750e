"""Errors before the first token raise typed errors; retries only where the docs allow them."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from chatapp.openrouter import (
    BadRequest,
    ConnectionFailed,
    ContentDelta,
    InsufficientCredits,
    InvalidKey,
    Moderated,
    OpenRouterError,
    ProviderError,
    RateLimited,
    RequestTimeout,
    Unavailable,
    Usage,
)
from chatapp.openrouter.stream import retry_delay
from tests.openrouter.helpers import collect, of_type

FAST_RETRIES = override_settings(
    OPENROUTER_RETRY_ATTEMPTS=3, OPENROUTER_RETRY_BASE_DELAY=0.001, OPENROUTER_RETRY_MAX_DELAY=0.5
)

ERRORS = [
    (400, BadRequest, "bad_request"),
    (401, InvalidKey, "invalid_key"),
    (402, InsufficientCredits, "insufficient_credits"),
    (403, Moderated, "moderated"),
    (408, RequestTimeout, "timeout"),
    (429, RateLimited, "rate_limited"),
    (502, ProviderError, "provider_error"),
    (503, Unavailable, "unavailable"),
]


def chat_posts(fake_openrouter) -> list[dict]:
    return [r for r in fake_openrouter.requests() if r["path"] == "/api/v1/chat/completions"]


@pytest.mark.parametrize(("status", "error_class", "code"), ERRORS)
async def test_it_raises_a_typed_error_for_each_documented_status(
    fake_openrouter, status, error_class, code
):
    with FAST_RETRIES, pytest.raises(error_class) as caught:
        await collect(f"[[error:{status}]] hello")

    assert caught.value.status == status
    assert caught.value.code == code
    assert caught.value.message.endswith(".") or caught.value.message.endswith(")")
    assert "HTTP" not in caught.value.message  # a sentence for a person, not a status line


@pytest.mark.parametrize("status", [400, 401, 402, 403])
async def test_it_never_retries_a_request_the_server_refused(fake_openrouter, status):
    with FAST_RETRIES, pytest.raises(OpenRouterError):
        await collect(f"[[error:{status}]] hello")

    assert len(chat_posts(fake_openrouter)) == 1


@pytest.mark.parametrize("status", [408, 429, 502, 503])
async def test_it_retries_transient_failures_before_the_first_token(fake_openrouter, status):
    with FAST_RETRIES:
        events = await collect(f"[[error:{status}:2]] hello")

    assert len(chat_posts(fake_openrouter)) == 3
    assert of_type(events, ContentDelta)
    assert isinstance(events[-1], Usage)


async def test_it_gives_up_after_the_retry_cap(fake_openrouter):
    with FAST_RETRIES, pytest.raises(Unavailable):
        await collect("[[error:503]] hello")

    assert len(chat_posts(fake_openrouter)) == 4  # the first try and three retries


async def test_it_waits_as_long_as_retry_after_says(fake_openrouter):
    with FAST_RETRIES:
        await collect("[[error:429:1]] [[retry-after:0.2]] hello")

    first, second = chat_posts(fake_openrouter)
    assert second["time"] - first["time"] >= 0.2


async def test_it_does_not_wait_for_a_retry_after_beyond_the_cap(fake_openrouter):
    with FAST_RETRIES, pytest.raises(RateLimited) as caught:
        await collect("[[error:429]] [[retry-after:30]] hello")

    assert len(chat_posts(fake_openrouter)) == 1
    assert caught.value.retry_after == 30
    assert "30 seconds" in caught.value.message


def test_it_backs_off_exponentially_with_jitter():
    with override_settings(OPENROUTER_RETRY_BASE_DELAY=1.0, OPENROUTER_RETRY_MAX_DELAY=8.0):
        delays = {n: [retry_delay(Unavailable(), attempt=n) for _ in range(40)] for n in range(3)}

    for attempt, found in delays.items():
        assert all(2**attempt / 2 <= d <= 2**attempt for d in found)
        assert len(set(found)) > 1  # jitter: retries from many clients do not line up


def test_it_caps_the_backoff():
    with override_settings(
        OPENROUTER_RETRY_ATTEMPTS=10,
        OPENROUTER_RETRY_BASE_DELAY=1.0,
        OPENROUTER_RETRY_MAX_DELAY=2.0,
    ):
        assert retry_delay(ProviderError(), attempt=6) <= 2.0


async def test_it_rejects_an_invalid_key_with_a_way_forward(fake_openrouter):
    with pytest.raises(InvalidKey) as caught:
        await collect("hello", key="sk-or-v1-invalid-0000")

    assert "Connect your OpenRouter account again" in caught.value.message


async def test_it_reports_a_key_without_credits(fake_openrouter):
    with pytest.raises(InsufficientCredits):
        await collect("hello", key="sk-or-v1-broke-0000")


async def test_it_explains_an_unknown_model(fake_openrouter):
    with pytest.raises(BadRequest) as caught:
        await collect("hello", model="nobody/no-such-model")

    assert "nobody/no-such-model is not a valid model ID" in caught.value.message


async def test_it_raises_connection_failed_when_openrouter_is_unreachable(db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with (
        override_settings(OPENROUTER_BASE_URL=f"http://127.0.0.1:{port}/api/v1"),
        pytest.raises(ConnectionFailed) as caught,
    ):
        await collect("hello")

    assert caught.value.status is None
    assert "Could not reach OpenRouter" in caught.value.message
