"""After the first token, every way a stream can go wrong ends it with a StreamError."""

from __future__ import annotations

import time

from django.test import override_settings

from chatapp.openrouter import ContentDelta, StreamError, Usage
from tests.openrouter.helpers import collect, final_finish, of_type, wait_for_close


async def test_it_turns_a_midstream_error_event_into_a_final_error(fake_openrouter):
    events = await collect("[[midstream-error]] [[tokens:10]]")

    assert len(of_type(events, ContentDelta)) == 5
    assert isinstance(events[-1], StreamError)
    assert events[-1].code == "provider_error"
    assert "Provider disconnected unexpectedly" in events[-1].message
    assert not final_finish(events)  # never silently "complete"


async def test_it_reports_a_dropped_connection(fake_openrouter):
    events = await collect("[[drop]] [[tokens:10]]")

    assert len(of_type(events, ContentDelta)) == 5
    assert events[-1] == StreamError(
        "connection_lost",
        "The connection to OpenRouter ended before the reply was complete. Try regenerating it.",
    )
    assert not final_finish(events)


async def test_it_reports_a_stream_that_ends_without_finish_or_done(fake_openrouter):
    events = await collect("[[truncate]] [[tokens:10]]")

    assert isinstance(events[-1], StreamError)
    assert events[-1].code == "connection_lost"
    assert not final_finish(events)


async def test_it_stops_a_stalled_stream_after_the_idle_timeout(fake_openrouter):
    with override_settings(OPENROUTER_IDLE_TIMEOUT=0.3):
        events = await collect("[[stall]] [[tokens:10]]")

    assert len(of_type(events, ContentDelta)) == 5
    assert events[-1].code == "stalled"
    assert "sent nothing for 0.3 seconds" in events[-1].message


async def test_it_closes_the_connection_of_a_stalled_stream(fake_openrouter):
    started = time.time()
    with override_settings(OPENROUTER_IDLE_TIMEOUT=0.2):
        events = await collect("[[stall]] [[tokens:10]]")

    close = await wait_for_close(fake_openrouter, since=started)
    assert close["by"] == "client"
    assert fake_openrouter.server.generations[close["generation_id"]]["cancelled"]
    assert isinstance(events[-1], StreamError)


async def test_it_caps_a_whole_generation(fake_openrouter):
    with override_settings(OPENROUTER_GENERATION_TIMEOUT=0.5):
        events = await collect("[[rate:20]] [[tokens:100]]")

    assert len(of_type(events, ContentDelta)) < 100
    assert events[-1].code == "too_long"
    assert not of_type(events, Usage)


async def test_it_caps_a_generation_that_only_ever_sends_keepalives(fake_openrouter):
    fake_openrouter.server.config.keepalive_s = 0.05
    with override_settings(OPENROUTER_GENERATION_TIMEOUT=0.4, OPENROUTER_IDLE_TIMEOUT=5):
        events = await collect("[[ttft:10000]] hello")

    assert not of_type(events, ContentDelta)
    assert events[-1].code == "too_long"
    assert "0.4-second limit" in events[-1].message
