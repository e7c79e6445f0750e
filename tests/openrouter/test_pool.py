"""One pooled client per event loop, with the timeouts from settings."""

from __future__ import annotations

import asyncio

from django.test import override_settings

from chatapp.openrouter import http


def test_it_gives_each_event_loop_its_own_client_and_never_reuses_a_dead_one():
    async def current():
        return http.client(), http.client()

    first_a, first_b = asyncio.run(current())
    second, _ = asyncio.run(current())

    assert first_a is first_b
    assert second is not first_a


def test_it_forgets_clients_of_closed_loops():
    async def current():
        return http.client()

    for _ in range(3):
        asyncio.run(current())

    assert len(http._clients) == 1  # only the last loop's client is still referenced


def test_it_takes_timeouts_from_settings():
    async def timeouts():
        await http.aclose_clients()
        return http.client().timeout, http.stream_timeout()

    with override_settings(OPENROUTER_CONNECT_TIMEOUT=3, OPENROUTER_IDLE_TIMEOUT=45):
        plain, streaming = asyncio.run(timeouts())

    assert plain.connect == 3
    assert (streaming.connect, streaming.read) == (3, 45)
