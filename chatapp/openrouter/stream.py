"""Streaming chat completions: SSE in, typed events out, retries only before the stream starts."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from chatapp.openrouter import http
from chatapp.openrouter.errors import (
    BY_STATUS,
    RETRYABLE_STATUSES,
    ConnectionFailed,
    OpenRouterError,
    error_for_status,
)
from chatapp.openrouter.events import (
    ChatMessage,
    Citation,
    Citations,
    ContentDelta,
    FileAnnotations,
    Finish,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    Usage,
)
from chatapp.openrouter.options import ChatOptions

# What `on_extra` is handed: what a caller stores besides the text.
Extra = Citations | FileAnnotations | Usage
# Keys the caller's `parameters` may not override: they make this a metered, streamed call.
_FIXED = ("model", "messages", "user", "stream", "usage")


async def astream_chat(
    *,
    api_key: str,
    model: str,
    messages: list[ChatMessage],
    user_id: str,
    parameters: Mapping[str, Any] | None = None,
    options: ChatOptions | None = None,
    on_extra: Callable[[Extra], Awaitable[None]] | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """Stream one chat completion as typed events (close it with `aclose()` to cancel).

    Raises OpenRouterError (from the first __anext__) when the request fails before the stream
    starts; anything that goes wrong afterwards is yielded as a final StreamError.

    Finish comes twice: first with reason "" as soon as the generation id is known (before any
    delta, so a reply that is stopped or cut off can still be costed with aget_generation),
    then with the finish_reason. Usage comes when the usage chunk arrives.

    `options` adds provider routing, the web plugin and transforms to the body. `on_extra` is
    awaited with every Citations and Usage event before it is yielded, so a caller can store
    what it does not handle itself (a reply's sources, its cache savings) in order.
    """
    body = {key: value for key, value in (parameters or {}).items() if key not in _FIXED}
    body.update(model=model, messages=messages, user=user_id, stream=True, usage={"include": True})
    if options is not None:
        body.update(options.body())
    deadline = asyncio.get_running_loop().time() + http.setting("OPENROUTER_GENERATION_TIMEOUT")
    async with _aopen_stream(api_key=api_key, body=body) as response:
        async for event in aevents_from_response(response, deadline=deadline):
            if on_extra is not None and isinstance(event, Citations | FileAnnotations | Usage):
                await on_extra(event)
            yield event


@asynccontextmanager
async def _aopen_stream(*, api_key: str, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
    response = await _asend_with_retries(api_key=api_key, body=body)
    try:
        yield response
    finally:
        # Closing an unfinished response closes its connection: that is how OpenRouter
        # learns to stop generating (and billing).
        await response.aclose()


async def _asend_with_retries(*, api_key: str, body: dict[str, Any]) -> httpx.Response:
    attempt = 0
    while True:
        response = await _asend(api_key=api_key, body=body)
        if response.status_code == 200:
            return response
        await response.aread()
        await response.aclose()
        error = error_for_status(
            response.status_code,
            http.json_body(response),
            retry_after=http.retry_after_seconds(response),
        )
        delay = retry_delay(error, attempt=attempt)
        if delay is None:
            raise error
        await asyncio.sleep(delay)
        attempt += 1


async def _asend(*, api_key: str, body: dict[str, Any]) -> httpx.Response:
    client = http.client()
    request = client.build_request(
        "POST",
        f"{http.base_url()}/chat/completions",
        json=body,
        headers={**http.headers(api_key), "Accept": "text/event-stream"},
        timeout=http.stream_timeout(),
    )
    try:
        return await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise ConnectionFailed(type(exc).__name__) from exc


def retry_delay(error: OpenRouterError, *, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when this error must not be retried.

    Exponential backoff with jitter (between half and all of it); Retry-After wins when sent, but a
    Retry-After beyond the cap is not waited for: the person is told to come back later.
    """
    if error.status not in RETRYABLE_STATUSES:
        return None
    if attempt >= int(http.setting("OPENROUTER_RETRY_ATTEMPTS")):
        return None
    cap = http.setting("OPENROUTER_RETRY_MAX_DELAY")
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= cap else None
    backoff = min(cap, http.setting("OPENROUTER_RETRY_BASE_DELAY") * 2**attempt)
    return random.uniform(backoff / 2, backoff)


async def aevents_from_response(
    response: httpx.Response, *, deadline: float
) -> AsyncIterator[StreamEvent]:
    """Translate an SSE response into events; every way it can end badly becomes a StreamError."""
    reader = _ChunkReader()
    cap = _Deadline(deadline)
    sse_iter = EventSource(response).aiter_sse()
    try:
        while True:
            if cap.expired:
                yield _too_long()
                return
            cap.task = asyncio.current_task()
            try:
                sse = await anext(sse_iter)
            except StopAsyncIteration:
                break
            except asyncio.CancelledError:
                if cap.is_ours():
                    yield _too_long()
                    return
                raise
            except httpx.TimeoutException:
                yield _stalled()
                return
            except (httpx.HTTPError, SSEError):
                break  # judged below: cut off unless the reply had already finished
            finally:
                cap.task = None
            if sse.data == "[DONE]":
                reader.done = True
                await _adrain(sse_iter)
                break
            for event in reader.translate(sse.data):
                yield event
            if reader.failed:
                return
        for event in reader.ending():
            yield event
    finally:
        cap.cancel()
        await sse_iter.aclose()


class _Deadline:
    """The cap on a whole generation: one timer per stream (not one per event, which cost
    a third of the client's CPU), cancelling the read it interrupts like asyncio.timeout."""

    __slots__ = ("expired", "handle", "task")

    def __init__(self, when: float) -> None:
        self.expired = False
        self.task: asyncio.Task[Any] | None = None
        self.handle = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self.expired = True
        if self.task is not None:  # only set while the stream awaits the network
            self.task.cancel()

    def is_ours(self) -> bool:
        """Whether a CancelledError came from this deadline (and not from the caller)."""
        return self.expired and self.task is not None and self.task.uncancel() == 0

    def cancel(self) -> None:
        self.handle.cancel()


async def _adrain(sse_iter: AsyncIterator[Any]) -> None:
    """Read the end of the body after [DONE], so the connection can go back to the pool."""
    try:
        async with asyncio.timeout(1):
            async for _ in sse_iter:
                pass
    except (TimeoutError, httpx.HTTPError, SSEError):
        pass  # the reply is complete either way; the connection is then just closed


_decode = json.JSONDecoder(parse_float=Decimal).decode


class _ChunkReader:
    """State across the chunks of one stream: ids, and whether it finished or failed."""

    __slots__ = ("done", "failed", "finished", "generation_id", "model", "provider")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.finished = False
        self.generation_id = ""
        self.provider = ""
        self.model = ""

    def translate(self, data: str) -> list[StreamEvent]:
        try:
            chunk = _decode(data)
        except ValueError:
            return []  # the docs say to ignore data that is not JSON
        if not isinstance(chunk, dict):
            return []
        events: list[StreamEvent] = []
        self.provider = chunk.get("provider") or self.provider
        self.model = chunk.get("model") or self.model
        if not self.generation_id and chunk.get("id"):
            self.generation_id = chunk["id"]
            events.append(self._finish(""))  # the ids, early: see astream_chat
        if chunk.get("error"):
            self.failed = True
            return [*events, _midstream_error(chunk["error"])]
        events += self._choices(chunk.get("choices"))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(_usage(usage))
        return events

    def _choices(self, choices: Any) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for choice in choices or ():
            delta = choice.get("delta") or {}
            if reasoning := delta.get("reasoning"):
                events.append(ReasoningDelta(reasoning))
            if content := delta.get("content"):
                events.append(ContentDelta(content))
            if found := citations_from(delta.get("annotations")):
                events.append(found)
            if parsed := file_annotations_from(delta.get("annotations")):
                events.append(parsed)
            reason = choice.get("finish_reason")
            if reason == "error":
                self.failed = True
                events.append(_midstream_error({}))
            elif reason and not self.finished:
                self.finished = True
                events.append(self._finish(reason))
        return events

    def _finish(self, reason: str) -> Finish:
        return Finish(reason, self.generation_id, self.provider, self.model)

    def ending(self) -> list[StreamEvent]:
        """The events owed when the stream ended without an error event."""
        if self.finished:
            return []
        if self.done:
            return [self._finish("unknown")]  # [DONE] without a finish_reason: still complete
        return [
            StreamError(
                "connection_lost",
                "The connection to OpenRouter ended before the reply was complete. "
                "Try regenerating it.",
            )
        ]


def _usage(usage: dict[str, Any]) -> Usage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cost_details = usage.get("cost_details") or {}
    cost = usage.get("cost")
    discount = usage.get("cache_discount", cost_details.get("cache_discount"))
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        cost=Decimal(cost) if isinstance(cost, Decimal | int) and cost >= 0 else None,
        cache_discount=Decimal(discount) if isinstance(discount, Decimal | int) else None,
    )


MAX_CITATION_URL = 2000
MAX_CITATION_TITLE = 300


def citations_from(annotations: Any) -> Citations | None:
    """The `url_citation` annotations of a delta; anything but an http(s) URL is dropped."""
    if not isinstance(annotations, list):
        return None
    found = []
    for annotation in annotations:
        if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
            continue
        detail = annotation.get("url_citation") or annotation
        url = str(detail.get("url") or "").strip()
        if not url.lower().startswith(("https://", "http://")) or len(url) > MAX_CITATION_URL:
            continue
        title = " ".join(str(detail.get("title") or "").split())[:MAX_CITATION_TITLE]
        found.append(Citation(url=url, title=title))
    return Citations(tuple(found)) if found else None


def file_annotations_from(annotations: Any) -> FileAnnotations | None:
    """The `file` annotations of a delta (the file parser's output), as they came."""
    if not isinstance(annotations, list):
        return None
    found = tuple(a for a in annotations if isinstance(a, dict) and a.get("type") == "file")
    return FileAnnotations(found) if found else None


def _midstream_error(error: Any) -> StreamError:
    detail = str(error.get("message") or "") if isinstance(error, dict) else ""
    raw_code = error.get("code") if isinstance(error, dict) else None
    known = BY_STATUS.get(raw_code) if isinstance(raw_code, int) else None
    code = known.code if known else "provider_error"
    said = f" (OpenRouter said: {detail[:300]})" if detail else ""
    return StreamError(
        code,
        f"The model's provider stopped with an error partway through the reply{said}. "
        "Try regenerating it.",
    )


def _stalled() -> StreamError:
    seconds = f"{http.setting('OPENROUTER_IDLE_TIMEOUT'):g}"
    return StreamError(
        "stalled",
        f"OpenRouter sent nothing for {seconds} seconds, so the reply was stopped. "
        "Try regenerating it.",
    )


def _too_long() -> StreamError:
    seconds = http.setting("OPENROUTER_GENERATION_TIMEOUT")
    limit = f"{seconds / 60:g}-minute" if seconds >= 60 else f"{seconds:g}-second"
    return StreamError(
        "too_long",
        f"The reply took longer than the {limit} limit and was stopped. "
        "Ask for a shorter answer or try another model.",
    )
