"""The stand-in OpenRouter: a small asyncio HTTP/1.1 server speaking OpenRouter's wire format.

Plain asyncio rather than an ASGI app so it sees exactly what a real server sees: when the
peer closes the socket (that is how a client cancels a stream), it notices at once and logs it.
Behaviour is chosen by markers in the last user message; see docs/fake-openrouter.md.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from chatapp.openrouter.fake.catalogue import build_catalogue, catalogue_by_id, endpoints_of
from chatapp.openrouter.fake.multimodal import (
    PartError,
    attachment_tokens,
    check_parts,
    describe,
    file_annotations,
    parser_cost,
)
from chatapp.openrouter.options import WEB_PLUGIN_PRICE_PER_RESULT

API = "/api/v1"
CONTROL = "/__fake__"
ENDPOINTS = re.compile(r"^/api/v1/models/([^/]+)/([^/]+)/endpoints$")
WEB_DEFAULT_RESULTS = 5
MARKER = re.compile(r"\[\[([a-z-]+)(?::([^\]]*))?\]\]")
_PROSE = (
    "the stand-in model streams this reply one token at a time so that you can watch "
    "chatapp render text while it arrives and measure what each part costs nothing here is "
    "real but every byte follows the format that OpenRouter documents for streaming"
)
_WORDS = _PROSE.split(" ")
# The reply for `[[markdown]]` (and every reply with --markdown): what a real answer looks like,
# so that trying the app offline shows headings, lists, tables and highlighted code.
_MARKDOWN = """## Here is how that works

The stand-in answers every question with this sample, streamed **one token at a time**, so you
can watch `chatapp` render markdown while it arrives:

1. Text is sanitized on *every* partial render.
2. Code blocks are highlighted and get a copy button.
3. The cost below this reply is the one OpenRouter reports.

```python
from decimal import Decimal


def cost_of(tokens: int, price_per_million: Decimal) -> Decimal:
    return tokens * price_per_million / 1_000_000
```

| model | prompt $/M | completion $/M |
| --- | ---: | ---: |
| small | 0.15 | 0.60 |
| large | 3.00 | 15.00 |

> Nothing here is real, but every byte follows the format OpenRouter documents."""
_ERROR_TEXT = {
    400: "Invalid request (the stand-in was asked to fail with 400)",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/credits",
    403: "Your input was flagged by moderation: violence",
    408: "Request timed out",
    429: "Rate limit exceeded: too many requests",
    502: "Provider returned error",
    503: "No available model provider that meets your routing requirements",
}


@dataclass
class Config:
    """Defaults for replies that carry no marker."""

    ttft_ms: int = 400
    rate: float = 40.0  # tokens per second; 0 = as fast as possible
    tokens: int = 120
    keepalive_s: float = 1.0
    markdown: bool = False  # every reply is the markdown sample, as `[[markdown]]` asks


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(eq=False)  # identity: connections are dict keys
class Connection:
    """One client socket; `closed` is set the moment the peer goes away."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    buffer: bytearray = field(default_factory=bytearray)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    closed_at: float | None = None
    path: str = ""
    generation_id: str = ""
    streaming: bool = False

    async def read_more(self) -> bool:
        data = await self.reader.read(65536)
        if not data:
            self.mark_closed()
            return False
        self.buffer += data
        return True

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.time()
            self.closed.set()

    async def read_request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buffer:
            if not await self.read_more():
                return None
        head, _, _ = bytes(self.buffer).partition(b"\r\n\r\n")
        del self.buffer[: len(head) + 4]
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(self.buffer) < length:
            if not await self.read_more():
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        url = urlsplit(target)
        return Request(method, url.path, dict(parse_qsl(url.query)), headers, body)

    async def write(self, data: bytes) -> bool:
        """Write and flush; False once the peer has gone."""
        if self.closed.is_set():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            self.mark_closed()
            return False
        return True

    async def sleep(self, seconds: float) -> bool:
        """Sleep, waking early if the peer closes; False when it did."""
        if seconds <= 0:
            return not self.closed.is_set()
        try:
            await asyncio.wait_for(self.closed.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def respond(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> bool:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        )
        return await self.write(head.encode() + body)

    async def respond_json(self, status: int, payload: Any, **headers: str) -> bool:
        body = json.dumps(payload).encode()
        return await self.respond(status, body, "application/json", headers)

    async def start_stream(self) -> bool:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        return await self.write(head.encode())

    async def chunk(self, data: bytes) -> bool:
        return await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def watch_for_close(self) -> None:
        """While streaming, notice a closed socket at once (nothing else reads it then)."""
        while not self.closed.is_set() and await self.read_more():
            pass


@dataclass
class Plan:
    """What one chat request asked for, after reading its markers."""

    model: dict[str, Any]
    reply: list[str]
    reasoning: list[str]
    ttft: float
    rate: float
    error: int | None = None
    error_times: int | None = None
    retry_after: str | None = None
    midstream_error: bool = False
    drop: bool = False
    truncate: bool = False
    stall: bool = False
    newline: bytes = b"\n"
    split: int = 0
    keepalive: float = 1.0
    finish_reason: str = "stop"
    cost: Decimal | None = None  # `[[cost:…]]`: the cost to report, whatever the tokens
    cached_tokens: int = 0
    # The web plugin's results, cited by the last content chunk (empty: no web search).
    citations: list[dict[str, Any]] = field(default_factory=list)
    # The file parser's `file` annotations for the request's PDFs (with the last text too).
    parsed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def annotations(self) -> list[dict[str, Any]]:
        return self.citations + self.parsed


class FakeOpenRouter:
    """State and routes of the stand-in. Start with `await start()`; read `.port`."""

    def __init__(self, config: Config | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config or Config()
        self.host = host
        self.port = port
        self.models = catalogue_by_id()
        self.log: list[dict[str, Any]] = []
        self.closes: list[dict[str, Any]] = []
        self.generations: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, tuple[str, str]] = {}
        self.attempts: Counter[str] = Counter()
        self.spent: Counter[str] = Counter()
        self.removed_models: set[str] = set()
        self._server: asyncio.Server | None = None
        self._open: dict[Connection, asyncio.Task[Any]] = {}

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop listening and end every open connection (handlers then finish on their own)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._open):
            conn.writer.transport.abort()
            conn.mark_closed()
        if self._open:
            await asyncio.wait(list(self._open.values()), timeout=2)

    def clear(self) -> None:
        self.log.clear()
        self.closes.clear()
        self.attempts.clear()
        self.removed_models.clear()

    # --- connection loop -------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(reader, writer)
        closed_by = "client"
        task = asyncio.current_task()
        assert task is not None
        self._open[conn] = task
        try:
            while (request := await conn.read_request()) is not None:
                conn.path = request.path
                if not await self._dispatch(conn, request):
                    closed_by = "client" if conn.closed.is_set() else "server"
                    break
        except (ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.pop(conn, None)
            conn.mark_closed()
            self.closes.append(
                {
                    "type": "close",
                    "by": closed_by,
                    "time": conn.closed_at,
                    "path": conn.path,
                    "generation_id": conn.generation_id,
                    "during_stream": conn.streaming,
                }
            )
            writer.close()

    async def _dispatch(self, conn: Connection, request: Request) -> bool:
        """Answer one request; False means the connection must not be reused."""
        if request.path.startswith(CONTROL):
            return await self._control(conn, request)
        self.log.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": request.headers,
                "json": request.json(),
                "time": time.time(),
            }
        )
        route = (request.method, request.path.removeprefix(API) or "/")
        handler = {
            ("GET", "/models"): self._models,
            ("POST", "/chat/completions"): self._chat,
            ("GET", "/generation"): self._generation,
            ("GET", "/key"): self._key,
            ("POST", "/auth/keys"): self._auth_keys,
        }.get(route)
        if request.path == "/auth" and request.method == "GET":
            return await self._auth(conn, request)
        if handler is None and request.method == "GET" and ENDPOINTS.match(request.path):
            handler = self._endpoints
        if handler is None or not request.path.startswith(API):
            return await _error(conn, 404, f"No route for {request.method} {request.path}")
        return await handler(conn, request)

    async def _control(self, conn: Connection, request: Request) -> bool:
        name = request.path.removeprefix(CONTROL + "/")
        if name == "clear":
            self.clear()
            return await conn.respond_json(200, {"ok": True})
        if name == "remove-model":
            self.removed_models.add(request.query.get("id", ""))
            return await conn.respond_json(200, {"ok": True})
        payloads = {"requests": self.log, "events": self.closes}
        if name in payloads:
            return await conn.respond_json(200, payloads[name])
        return await _error(conn, 404, "Unknown control endpoint")

    # --- plain endpoints -------------------------------------------------------------------

    async def _models(self, conn: Connection, request: Request) -> bool:
        data = [m for m in build_catalogue() if m["id"] not in self.removed_models]
        return await conn.respond_json(200, {"data": data})

    async def _endpoints(self, conn: Connection, request: Request) -> bool:
        match = ENDPOINTS.match(request.path)
        assert match is not None
        model = self.models.get(f"{match[1]}/{match[2]}")
        if model is None or model["id"] in self.removed_models:
            return await _error(conn, 404, "Model not found")
        data = {
            "id": model["id"],
            "name": model["name"],
            "created": model["created"],
            "description": model["description"],
            "architecture": model["architecture"],
            "endpoints": endpoints_of(model),
        }
        return await conn.respond_json(200, {"data": data})

    def _key_error(self, request: Request) -> tuple[int, str] | None:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not key.startswith("sk-or-v1-") or "invalid" in key:
            return 401, "No auth credentials found" if not key else "User not found."
        if "broke" in key:
            return 402, _ERROR_TEXT[402]
        return None

    async def _key(self, conn: Connection, request: Request) -> bool:
        if failure := self._key_error(request):
            return await _error(conn, *failure)
        key = _key_of(request)
        limit = Decimal(10) if "limited" in key else None
        usage = Decimal(self.spent[key]) / 10**12
        remaining = max(Decimal(0), limit - usage) if limit is not None else None
        data = {
            "label": f"sk-or-v1-...{key[-3:]}",
            "limit": _raw(limit),
            "limit_remaining": _raw(remaining),
            "usage": _raw(usage),
            "is_free_tier": "free" in key,
        }
        return await _respond_raw(conn, {"data": data})

    async def _generation(self, conn: Connection, request: Request) -> bool:
        if failure := self._key_error(request):
            return await _error(conn, *failure)
        found = self.generations.get(request.query.get("id", ""))
        if found is None or not found["ready"] or found["key"] != _key_of(request):
            return await _error(conn, 404, "Generation not found")
        hidden = ("ready", "key", "pricing", "web_cost", "parser_cost")
        data = {k: v for k, v in found.items() if k not in hidden}
        data["total_cost"] = data["usage"] = _raw(found["total_cost"])
        return await _respond_raw(conn, {"data": data})

    async def _auth(self, conn: Connection, request: Request) -> bool:
        """The browser step of PKCE: approve at once and send the browser back with a code."""
        callback = request.query.get("callback_url", "")
        if not callback.startswith(("http://", "https://")):
            return await conn.respond(
                400, b"callback_url is missing or not an http(s) URL", "text/plain"
            )
        code = secrets.token_urlsafe(24)
        method = request.query.get(
            "code_challenge_method", "plain" if "code_challenge" in request.query else ""
        )
        self.codes[code] = (request.query.get("code_challenge", ""), method)
        joiner = "&" if "?" in callback else "?"
        location = f"{callback}{joiner}{urlencode({'code': code})}"
        return await conn.respond(302, b"", "text/plain", {"Location": location})

    async def _auth_keys(self, conn: Connection, request: Request) -> bool:
        body = request.json() or {}
        code = str(body.get("code") or "")
        stored = self.codes.pop(code, None)  # one-time, even when the verifier is wrong
        if stored is None:
            return await _error(conn, 403, "Invalid or already used code")
        challenge, method = stored
        verifier = str(body.get("code_verifier") or "")
        if challenge and not _verifier_matches(verifier, challenge, method):
            return await _error(conn, 403, "Invalid code_verifier")
        key = "sk-or-v1-" + secrets.token_hex(32)
        return await conn.respond_json(200, {"key": key, "user_id": "user_fake"})

    # --- chat --------------------------------------------------------------------------------

    async def _chat(self, conn: Connection, request: Request) -> bool:
        if failure := self._key_error(request):
            return await _error(conn, *failure)
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return await _error(conn, 400, "messages is required and must be an array")
        model = self.models.get(str(body.get("model")))
        if model is None or model["id"] in self.removed_models:
            return await _error(conn, 400, f"{body.get('model')} is not a valid model ID")
        try:
            check_parts(body, model)
        except PartError as refused:
            return await _error(conn, refused.status, refused.message)
        plan = self._plan(model, body)
        if too_long := _too_long(model, body):
            return await _error(conn, 400, too_long)
        if plan.error and self._should_fail(plan, request):
            headers = {"Retry-After": plan.retry_after} if plan.retry_after else {}
            return await _error(conn, plan.error, _ERROR_TEXT.get(plan.error, "Error"), **headers)
        endpoint = _route(_used_model(model), body.get("provider"))
        if endpoint is None:
            return await _error(conn, 503, _ERROR_TEXT[503])
        if not body.get("stream"):
            return await self._complete(conn, request, body, plan, endpoint)
        return await self._stream(conn, request, body, plan, endpoint)

    def _plan(self, model: dict[str, Any], body: dict[str, Any]) -> Plan:
        text = _last_user_text(body["messages"])
        markers = dict(MARKER.findall(text))
        count = _int(markers.get("tokens"), self.config.tokens)
        max_tokens = body.get("max_tokens")
        if "echo" in markers:
            reply = _split_tokens(MARKER.sub("", text).strip())
        elif "markdown" in markers or (self.config.markdown and not markers):
            reply = _split_tokens(_MARKDOWN)
        elif received := describe(body):
            reply = _split_tokens(received)
        else:
            reply = _reply_tokens(text, count)
        plan = Plan(
            model=model,
            reply=reply,
            reasoning=_reply_tokens("reasoning " + text, max(4, count // 2))
            if "reasoning" in markers
            else [],
            ttft=_int(markers.get("ttft"), self.config.ttft_ms) / 1000,
            rate=float(markers.get("rate") or self.config.rate),
            midstream_error="midstream-error" in markers,
            drop="drop" in markers,
            truncate="truncate" in markers,
            stall="stall" in markers,
            newline=b"\r\n" if "crlf" in markers else b"\n",
            split=_int(markers.get("split"), 0),
            retry_after=markers.get("retry-after"),
            keepalive=max(0.05, self.config.keepalive_s),
            cost=_decimal(markers.get("cost")),
            citations=_web_results(body, text),
            parsed=file_annotations(body),
        )
        if "cached" in markers:
            plan.cached_tokens = _int(markers["cached"], 0)
        if isinstance(max_tokens, int) and 0 < max_tokens < len(plan.reply):
            plan.reply, plan.finish_reason = plan.reply[:max_tokens], "length"
        if "error" in markers:
            status, _, times = markers["error"].partition(":")
            plan.error = _int(status, 500)
            plan.error_times = _int(times, 0) or None
        return plan

    def _should_fail(self, plan: Plan, request: Request) -> bool:
        """`[[error:503:2]]` fails the first two identical requests, then succeeds."""
        if plan.error_times is None:
            return True
        fingerprint = hashlib.sha256(request.body).hexdigest()
        self.attempts[fingerprint] += 1
        return self.attempts[fingerprint] <= plan.error_times

    def _new_generation(
        self, request: Request, body: dict[str, Any], plan: Plan, endpoint: dict[str, Any]
    ) -> dict[str, Any]:
        used = _used_model(plan.model)["id"]
        prompt_tokens = _prompt_tokens(body["messages"])
        generation: dict[str, Any] = {
            "id": "gen-" + secrets.token_hex(12),
            "model": used,
            "provider_name": endpoint["provider_name"],
            "pricing": endpoint["pricing"],
            "web_cost": _web_cost(plan, endpoint),
            "parser_cost": parser_cost(body),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "streamed": bool(body.get("stream")),
            "cancelled": False,
            "finish_reason": None,
            "tokens_prompt": prompt_tokens,
            "tokens_completion": 0,
            "native_tokens_reasoning": 0,
            "native_tokens_cached": min(plan.cached_tokens, prompt_tokens),
            "total_cost": Decimal(0),
            "fixed_cost": plan.cost,
            "ready": False,
            "key": _key_of(request),
        }
        self.generations[generation["id"]] = generation
        return generation

    def _settle(self, generation: dict[str, Any], *, reason: str | None, cancelled: bool) -> None:
        cost = _cost(generation)
        generation.update(total_cost=cost, finish_reason=reason, cancelled=cancelled, ready=True)
        generation["cache_discount"] = _raw(_cache_discount(generation))
        self.spent[generation["key"]] += int(cost * 10**12)

    async def _complete(
        self,
        conn: Connection,
        request: Request,
        body: dict[str, Any],
        plan: Plan,
        endpoint: dict[str, Any],
    ) -> bool:
        generation = self._new_generation(request, body, plan, endpoint)
        generation["tokens_completion"] = len(plan.reply) + len(plan.reasoning)
        self._settle(generation, reason=plan.finish_reason, cancelled=False)
        payload = {
            "id": generation["id"],
            "provider": generation["provider_name"],
            "model": generation["model"],
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": plan.finish_reason,
                    "message": {
                        "role": "assistant",
                        "content": "".join(plan.reply),
                        **({"annotations": plan.annotations} if plan.annotations else {}),
                    },
                }
            ],
            "usage": _usage(generation),
        }
        return await _respond_raw(conn, payload)

    async def _stream(
        self,
        conn: Connection,
        request: Request,
        body: dict[str, Any],
        plan: Plan,
        endpoint: dict[str, Any],
    ) -> bool:
        generation = self._new_generation(request, body, plan, endpoint)
        conn.generation_id, conn.streaming = generation["id"], True
        watcher = asyncio.create_task(conn.watch_for_close())
        try:
            outcome = await _StreamWriter(conn, plan, generation).run()
        finally:
            watcher.cancel()
            # Wait until it really stopped reading, before the next request is read.
            await asyncio.gather(watcher, return_exceptions=True)
        conn.streaming = outcome not in ("complete", "error")  # a cut stream stays marked
        cancelled = outcome == "closed"
        reason = {"complete": plan.finish_reason, "error": "error"}.get(outcome)
        self._settle(generation, reason=reason, cancelled=cancelled)
        if outcome == "drop":
            conn.writer.transport.abort()  # no final chunk: the body is cut off
            return False
        return outcome in ("complete", "error")


class _StreamWriter:
    """Writes one SSE reply: keep-alives, reasoning, content, finish, usage, [DONE]."""

    def __init__(self, conn: Connection, plan: Plan, generation: dict[str, Any]) -> None:
        self.conn, self.plan, self.generation = conn, plan, generation
        self.nl = plan.newline

    async def run(self) -> str:
        """Return how it ended: complete, error (mid-stream), drop, stall or closed."""
        conn, plan = self.conn, self.plan
        if not await conn.start_stream() or not await self._comment():
            return "closed"
        if not await self._wait_first_token():
            return "closed"
        for piece in plan.reasoning:
            if not await self._token({"reasoning": piece}):
                return "closed"
        half = len(plan.reply) // 2
        last = len(plan.reply) - 1
        for index, piece in enumerate(plan.reply):
            if index == half and (cut := await self._cut()):
                return cut
            delta: dict[str, Any] = {"content": piece}
            if index == last and plan.annotations:  # as OpenRouter does: with the last text
                delta["annotations"] = plan.annotations
            if not await self._token(delta):
                return "closed"
        return await self._finish()

    async def _cut(self) -> str | None:
        if self.plan.midstream_error:
            error = {"code": 502, "message": "Provider disconnected unexpectedly"}
            await self._event(self._chunk({"content": ""}, finish="error", error=error))
            await self.conn.chunk(b"")
            return "error"
        if self.plan.drop:
            return "drop"
        if self.plan.truncate:  # a clean end of the body, but no finish_reason and no [DONE]
            await self.conn.chunk(b"")
            return "error"
        if self.plan.stall:
            await self.conn.closed.wait()  # say nothing more, keep the socket open
            return "closed"
        return None

    async def _wait_first_token(self) -> bool:
        remaining = self.plan.ttft
        while remaining > 0:
            step = min(remaining, self.plan.keepalive)
            if not await self.conn.sleep(step):
                return False
            remaining -= step
            if remaining > 0 and not await self._comment():
                return False
        return True

    async def _comment(self) -> bool:
        return await self._send(b": OPENROUTER PROCESSING" + self.nl + self.nl)

    async def _token(self, delta: dict[str, Any]) -> bool:
        if "reasoning" in delta:
            self.generation["native_tokens_reasoning"] += 1
        self.generation["tokens_completion"] += 1
        if not await self._event(self._chunk({"role": "assistant", **delta})):
            return False
        return await self.conn.sleep(1 / self.plan.rate) if self.plan.rate > 0 else True

    async def _finish(self) -> str:
        self.generation["finish_reason"] = self.plan.finish_reason
        finish = self._chunk({"role": "assistant", "content": ""}, finish=self.plan.finish_reason)
        # The usage event carries the same cost that /generation will report.
        self.generation["total_cost"] = _cost(self.generation)
        usage = {**self._chunk(None), "choices": [], "usage": _usage(self.generation)}
        for payload in (finish, usage):
            if not await self._event(payload):
                return "closed"
        if not await self._send(b"data: [DONE]" + self.nl + self.nl):
            return "closed"
        return "complete" if await self.conn.chunk(b"") else "closed"

    def _chunk(
        self, delta: dict[str, Any] | None, *, finish: str | None = None, error: Any = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.generation["id"],
            "provider": self.generation["provider_name"],
            "model": self.generation["model"],
            "object": "chat.completion.chunk",
            "created": int(time.time()),
        }
        if error is not None:
            chunk["error"] = error
        if delta is not None:
            chunk["choices"] = [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish,
                    "native_finish_reason": finish,
                    "logprobs": None,
                }
            ]
        return chunk

    async def _event(self, payload: dict[str, Any]) -> bool:
        return await self._send(b"data: " + _dumps_raw(payload) + self.nl + self.nl)

    async def _send(self, data: bytes) -> bool:
        if not self.plan.split:
            return await self.conn.chunk(data)
        # Cut the bytes into tiny writes so the client sees them in separate reads.
        for start in range(0, len(data), self.plan.split):
            if not await self.conn.chunk(data[start : start + self.plan.split]):
                return False
            await asyncio.sleep(0.001)
        return True


def _cost(generation: dict[str, Any]) -> Decimal:
    """Dollars for the tokens so far at the prices of the provider that answered: cached
    prompt tokens at its cache-read price, plus the web search (`[[cost:…]]` overrides it)."""
    if generation["fixed_cost"] is not None:
        return Decimal(generation["fixed_cost"])
    prices = generation["pricing"]
    cached = generation["native_tokens_cached"] if "input_cache_read" in prices else 0
    cost = _price(prices.get("prompt")) * (generation["tokens_prompt"] - cached)
    cost += _price(prices.get("input_cache_read")) * cached
    cost += _price(prices.get("completion")) * generation["tokens_completion"]
    extras = generation["web_cost"] + generation["parser_cost"]
    return cost + _price(prices.get("request")) + extras


def _cache_discount(generation: dict[str, Any]) -> Decimal:
    """What the cached prompt tokens saved against the full prompt price."""
    prices = generation["pricing"]
    if "input_cache_read" not in prices:
        return Decimal(0)
    saved = _price(prices.get("prompt")) - _price(prices.get("input_cache_read"))
    return saved * generation["native_tokens_cached"]


def _used_model(model: dict[str, Any]) -> dict[str, Any]:
    """The model that really answers: the auto router picks openai/gpt-4o-mini."""
    if model["id"] == "openrouter/auto":
        return catalogue_by_id()["openai/gpt-4o-mini"]
    return model


def _route(model: dict[str, Any], prefs: Any) -> dict[str, Any] | None:
    """The endpoint that answers, after the request's `provider` preferences (None: none may)."""
    prefs = prefs if isinstance(prefs, dict) else {}
    candidates = endpoints_of(model)
    if prefs.get("data_collection") == "deny":
        candidates = [e for e in candidates if not e["stores_data"]]
    sort = prefs.get("sort")
    if sort == "price":
        candidates.sort(key=lambda e: _price(e["pricing"].get("prompt")))
    elif sort == "throughput":
        candidates.sort(key=lambda e: -e["throughput_tokens_per_second"])
    elif sort == "latency":
        candidates.sort(key=lambda e: e["latency_ms"])
    order = [str(name) for name in prefs.get("order") or []]
    if order:
        preferred = [e for name in order for e in candidates if e["provider_name"] == name]
        rest = [e for e in candidates if e not in preferred]
        candidates = preferred + ([] if prefs.get("allow_fallbacks") is False else rest)
    return candidates[0] if candidates else None


def _too_long(model: dict[str, Any], body: dict[str, Any]) -> str | None:
    """OpenRouter's 400 for a prompt beyond the context window, unless middle-out squeezes it."""
    context = model.get("context_length") or 0
    tokens = _prompt_tokens(body["messages"])
    if not context or tokens <= context or "middle-out" in (body.get("transforms") or []):
        return None
    return (
        f"This endpoint's maximum context length is {context} tokens. However, you requested "
        f"about {tokens} tokens. Please reduce the length of the messages."
    )


def _web_results(body: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """`url_citation` annotations for the web plugin's results (`[[hostile-citation]]`: one
    with a javascript: URL and markup in its title, for the sanitiser)."""
    plugin = next(
        (p for p in body.get("plugins") or [] if isinstance(p, dict) and p.get("id") == "web"),
        None,
    )
    if plugin is None:
        return []
    count = _int(str(plugin.get("max_results") or ""), WEB_DEFAULT_RESULTS)
    topic = "-".join(MARKER.sub("", text).lower().split()[:3]) or "search"
    results: list[dict[str, Any]] = [
        {
            "type": "url_citation",
            "url_citation": {
                "url": f"https://example.org/{topic}/{n}",
                "title": f"Result {n} about {topic.replace('-', ' ')}",
                "content": f"What page {n} says about {topic}.",
                "start_index": 0,
                "end_index": 0,
            },
        }
        for n in range(1, count + 1)
    ]
    if "[[hostile-citation]]" in text:
        results[0]["url_citation"].update(
            url="javascript:alert(document.cookie)", title='<img src=x onerror="alert(1)">'
        )
        results.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "url": 'https://example.org/a"onmouseover="alert(1)',
                    "title": "<script>alert(2)</script>Quoted",
                },
            }
        )
    return results


def _web_cost(plan: Plan, endpoint: dict[str, Any]) -> Decimal:
    if not plan.citations:
        return Decimal(0)
    native = _price(endpoint["pricing"].get("web_search"))
    return native if native else WEB_PLUGIN_PRICE_PER_RESULT * len(plan.citations)


# --- helpers -----------------------------------------------------------------------------------


class _RawNumber(str):
    """A Decimal rendered as a bare JSON number (json cannot write Decimals itself)."""


def _raw(value: Decimal | None) -> Any:
    return None if value is None else _RawNumber(format(value.normalize(), "f"))


def _dumps_raw(payload: Any) -> bytes:
    numbers: list[str] = []

    def default(value: Any) -> Any:
        raise TypeError(type(value).__name__)

    def swap(value: Any) -> Any:
        if isinstance(value, _RawNumber):
            numbers.append(str(value))
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), default=default, ensure_ascii=False)
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0000{index}\\u0000"', number)
    return text.encode()


async def _respond_raw(conn: Connection, payload: Any) -> bool:
    return await conn.respond(200, _dumps_raw(payload), "application/json")


async def _error(conn: Connection, status: int, message: str, **headers: str) -> bool:
    return await conn.respond_json(
        status, {"error": {"code": status, "message": message}}, **headers
    )


def _usage(generation: dict[str, Any]) -> dict[str, Any]:
    return {
        "prompt_tokens": generation["tokens_prompt"],
        "completion_tokens": generation["tokens_completion"],
        "total_tokens": generation["tokens_prompt"] + generation["tokens_completion"],
        "cost": _raw(generation["total_cost"]),
        "prompt_tokens_details": {"cached_tokens": generation["native_tokens_cached"]},
        "completion_tokens_details": {"reasoning_tokens": generation["native_tokens_reasoning"]},
    }


def _price(value: Any) -> Decimal:
    try:
        found = Decimal(str(value)) if value is not None else Decimal(0)
    except ArithmeticError:
        return Decimal(0)
    return found if found > 0 else Decimal(0)


def _key_of(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def _verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return secrets.compare_digest(
            base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge
        )
    return secrets.compare_digest(verifier, challenge)


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, list):  # multi-part content: keep the text parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _prompt_tokens(messages: list[Any]) -> int:
    """About four characters per token, plus a little per message, as tokenizers roughly do."""
    chars = sum(len(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
    return max(1, chars // 4) + 3 * len(messages) + attachment_tokens(messages)


def _split_tokens(text: str) -> list[str]:
    """Cut text into word-sized tokens that join back to exactly the same text."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _reply_tokens(prompt: str, count: int) -> list[str]:
    seed = zlib.crc32(prompt.encode())
    words = [_WORDS[(seed + i * 7) % len(_WORDS)] for i in range(count)]
    tokens = [("" if i == 0 else " ") + word for i, word in enumerate(words)]
    if tokens:
        tokens[0] = tokens[0].capitalize()
        tokens[-1] += "."
    return tokens


def _provider(model_id: str) -> str:
    vendor = model_id.split("/", 1)[0]
    return {"meta-llama": "DeepInfra", "mistralai": "Mistral", "openai": "OpenAI"}.get(
        vendor, vendor.replace("-", " ").title().replace(" ", "")
    )


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except ArithmeticError:
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default
