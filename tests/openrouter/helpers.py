"""Small helpers for the client tests: one call to the stand-in, all events collected."""

from __future__ import annotations

from typing import Any

from chatapp.openrouter import ChatMessage, Finish, StreamEvent, astream_chat
from tests.eventually import eventually

KEY = "sk-or-v1-test-key"
MODEL = "openai/gpt-4o-mini"


def chat(
    text: str, *, key: str = KEY, model: str = MODEL, parameters: dict[str, Any] | None = None
) -> Any:
    messages: list[ChatMessage] = [{"role": "user", "content": text}]
    return astream_chat(
        api_key=key, model=model, messages=messages, user_id="user-7f3a", parameters=parameters
    )


async def collect(text: str, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in chat(text, **kwargs)]


def of_type(events: list[StreamEvent], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def final_finish(events: list[StreamEvent]) -> list[Finish]:
    """The Finish events that carry a reason (the early one only brings the ids)."""
    return [e for e in events if isinstance(e, Finish) and e.reason]


async def wait_for_close(fake: Any, *, since: float, timeout: float = 5.0) -> dict[str, Any]:
    """Return the first close the stand-in saw in the middle of a stream after `since` (a
    time.time()); it runs in another thread or process, so this waits for it (bounded)."""

    def closes() -> list[dict[str, Any]]:
        return [e for e in fake.events() if e["during_stream"] and e["time"] >= since]

    found = await eventually(
        closes, timeout=timeout, failure="the stand-in never saw the stream's connection close"
    )
    return found[0]
