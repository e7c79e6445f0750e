"""The chat websocket: authenticate, authorize, validate, call a service, reply.

It never talks to OpenRouter and never loops over a stream: generations run in
chatapp/chat/generation.py, and this consumer only forwards their frames to the browser.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chatapp.chat import services
from chatapp.chat.generation import Payment, generation_start
from chatapp.chat.groups import conversation_group, generation_group, user_group
from chatapp.chat.models import Message
from chatapp.chat.protocol import (
    BadFrame,
    ErrorCode,
    MessageData,
    aconversation_data,
    decode_client_frame,
    message_data,
)
from chatapp.chat.services import ChatRefusal, Exchange
from chatapp.chat.sweeper import sweeper_ensure_running

MAX_FRAME_BYTES = 64 * 1024
# A burst of RATE_BURST frames, then RATE_PER_SECOND: far above what a person does by hand.
RATE_BURST = 30
RATE_PER_SECOND = 2.0
# How long a subscribe waits for the worker's text so far before using the last checkpoint.
SNAPSHOT_WAIT = 1.0


class RateLimiter:
    """A token bucket per user, shared by all of the user's sockets in this process."""

    def __init__(self, burst: int, per_second: float) -> None:
        self.burst, self.per_second = burst, per_second
        self.buckets: dict[int, tuple[float, float]] = {}

    def wait_for(self, key: int) -> float:
        """Take one token; return 0, or the seconds to wait when there is none left."""
        now = time.monotonic()
        tokens, then = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > 10_000:  # forget idle users so the table stays small
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}
        return 0.0


rate_limiter = RateLimiter(RATE_BURST, RATE_PER_SECOND)


@dataclass
class PendingSnapshot:
    """A subscribe waiting for the worker's text so far; frames for it wait in `held`."""

    token: str
    messages: dict[int, MessageData]
    answered: set[int] = field(default_factory=set)
    held: list[dict[str, Any]] = field(default_factory=list)
    timer: asyncio.Task[None] | None = None


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.watching: set[int] = set()
        # Per (message, kind): how much text this socket has sent, so none is sent twice.
        self.sent: dict[tuple[int, str], int] = {}
        self.pending: dict[int, PendingSnapshot] = {}
        await self.accept()
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        sweeper_ensure_running()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        for pending in self.pending.values():
            if pending.timer:
                pending.timer.cancel()
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        for pk in self.watching:
            await self.channel_layer.group_discard(conversation_group(pk), self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections() before every message a consumer handles: a hop
        # into the ORM's one shared thread and, with CONN_MAX_AGE=0, a reconnect after it. For
        # frames relayed from the channel layer (a delta every few tokens, on every socket)
        # that was the largest cost of streaming, and they do not touch the database.
        if message["type"].startswith("websocket."):
            await super().dispatch(message)
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- client → server -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
            await self.send_error(
                "too_large",
                f"That is too long: the limit is {MAX_FRAME_BYTES // 1024} KiB per frame.",
            )
            return
        wait = rate_limiter.wait_for(self.user.pk)
        if wait:
            await self.send_error(
                "rate_limited",
                f"Too many requests at once. Wait {math.ceil(wait)} second(s) and try again.",
            )
            return
        try:
            frame: dict[str, Any] = dict(decode_client_frame(raw))
        except BadFrame as exc:
            await self.send_error(
                "bad_request",
                f"That request was not understood: {exc}",
                conversation=exc.conversation,
                client_id=exc.client_id,
            )
            return
        try:
            await getattr(self, f"on_{frame['type']}")(frame)
        except ChatRefusal as refusal:
            await self.send_error(
                refusal.code,
                refusal.message,
                conversation=frame.get("conversation"),
                client_id=frame.get("client_id"),
            )

    async def on_subscribe(self, frame: dict[str, Any]) -> None:
        conversation = await services.aconversation_get(user=self.user, pk=frame["conversation"])
        await self.watch(conversation.pk)  # first: no frame is missed between now and the snapshot
        streaming = await services.astreaming_replies(conversation=conversation)
        if not streaming:
            await self.send_json(
                {"type": "snapshot", "conversation": conversation.pk, "messages": []}
            )
            return
        await self.ask_for_snapshot(conversation.pk, streaming)

    async def on_unsubscribe(self, frame: dict[str, Any]) -> None:
        pk = frame["conversation"]
        if pk in self.watching:
            self.watching.discard(pk)
            self.pending.pop(pk, None)
            await self.channel_layer.group_discard(conversation_group(pk), self.channel_name)

    async def on_stop(self, frame: dict[str, Any]) -> None:
        pk = frame["conversation"]
        # A conversation this socket watches was checked to be the user's when it joined: no
        # database round trip, which under load can queue behind other sockets' sends.
        if pk not in self.watching:
            pk = (await services.aconversation_get(user=self.user, pk=pk)).pk
        await self.channel_layer.group_send(generation_group(pk), {"type": "generation.stop"})

    async def on_send(self, frame: dict[str, Any]) -> None:
        exchange = await services.amessage_send(
            user=self.user,
            conversation_id=frame["conversation"],
            client_id=uuid.UUID(frame["client_id"]),
            content=frame["content"],
            model=frame["model"],
            parent_id=frame.get("parent"),
        )
        await self.begin(exchange, frame["client_id"])

    async def on_regenerate(self, frame: dict[str, Any]) -> None:
        exchange = await services.amessage_regenerate(
            user=self.user,
            conversation_id=frame["conversation"],
            message_id=frame["message"],
            client_id=uuid.UUID(frame["client_id"]),
            model=frame.get("model"),
        )
        await self.begin(exchange, frame["client_id"])

    async def on_edit(self, frame: dict[str, Any]) -> None:
        exchange = await services.amessage_edit(
            user=self.user,
            conversation_id=frame["conversation"],
            message_id=frame["message"],
            client_id=uuid.UUID(frame["client_id"]),
            content=frame["content"],
            model=frame.get("model"),
        )
        await self.begin(exchange, frame["client_id"])

    # --- starting a reply ----------------------------------------------------------------------

    async def begin(self, exchange: Exchange, client_id: str) -> None:
        """Announce what was stored to every tab of the conversation, then start the worker."""
        conversation = exchange.conversation
        await self.watch(conversation.pk)
        if exchange.duplicate:  # a resend after a reconnect: answer it, do nothing again
            for message in exchange.messages:
                await self.send_json(self.created_frame(message, client_id))
            return
        for message in exchange.messages:
            await self.channel_layer.group_send(
                conversation_group(conversation.pk),
                {"type": "chat.frame", "frame": self.created_frame(message, client_id)},
            )
        assert exchange.reply is not None and exchange.key is not None
        payment = Payment(exchange.key.api_key, exchange.key.paid_by)
        generation_start(
            reply=exchange.reply,
            conversation=conversation,
            user=self.user,
            history=exchange.history,
            payment=payment,
        )
        if exchange.created_conversation:  # a new conversation has cost nothing yet
            data = await aconversation_data(conversation, cost=Decimal(0))
            frame = {"type": "conversation_updated", "conversation": data}
            await self.channel_layer.group_send(
                user_group(self.user.pk), {"type": "chat.frame", "frame": frame}
            )

    @staticmethod
    def created_frame(message: Message, client_id: str) -> dict[str, Any]:
        return {
            "type": "message_created",
            "conversation": message.conversation_id,
            "message": message_data(message),
            "client_id": client_id,
        }

    # --- subscribe: the text so far from the worker, then the rest live -----------------------

    async def watch(self, pk: int) -> None:
        if pk not in self.watching:
            self.watching.add(pk)
            await self.channel_layer.group_add(conversation_group(pk), self.channel_name)

    async def ask_for_snapshot(self, pk: int, streaming: list[Message]) -> None:
        old = self.pending.pop(pk, None)
        if old and old.timer:
            old.timer.cancel()
        pending = PendingSnapshot(uuid.uuid4().hex, {m.pk: message_data(m) for m in streaming})
        self.pending[pk] = pending
        await self.channel_layer.group_send(
            generation_group(pk),
            {"type": "generation.snapshot", "reply_to": self.channel_name, "token": pending.token},
        )
        pending.timer = asyncio.get_running_loop().create_task(
            self.snapshot_timer(pk, pending.token)
        )

    async def snapshot_timer(self, pk: int, token: str) -> None:
        await asyncio.sleep(SNAPSHOT_WAIT)
        # Through our own channel, so it is handled in order with everything else.
        await self.channel_layer.send(
            self.channel_name, {"type": "chat.snapshot_timeout", "conversation": pk, "token": token}
        )

    async def chat_snapshot_part(self, event: dict[str, Any]) -> None:
        pending = self.pending.get(event["conversation"])
        if pending is None or pending.token != event["token"]:
            return
        message = event["message"]
        pending.messages[message["id"]] = message
        pending.answered.add(message["id"])
        if pending.answered >= set(pending.messages):
            await self.send_snapshot(event["conversation"], pending)

    async def chat_snapshot_timeout(self, event: dict[str, Any]) -> None:
        pending = self.pending.get(event["conversation"])
        if pending is None or pending.token != event["token"]:
            return
        # No worker answered for these (it finished just now, or its process died): use the
        # database, which holds the final text or the last checkpoint.
        missing = set(pending.messages) - pending.answered
        async for message in Message.objects.filter(pk__in=missing):
            pending.messages[message.pk] = message_data(message)
        await self.send_snapshot(event["conversation"], pending)

    async def send_snapshot(self, pk: int, pending: PendingSnapshot) -> None:
        del self.pending[pk]
        if pending.timer and pending.timer is not asyncio.current_task():
            pending.timer.cancel()
        messages = list(pending.messages.values())
        for message in messages:
            self.sent[(message["id"], "delta")] = len(message["content"])
            self.sent[(message["id"], "reasoning_delta")] = len(message["reasoning"])
        await self.send_json({"type": "snapshot", "conversation": pk, "messages": messages})
        for frame in pending.held:
            await self.forward(frame)

    # --- server → client -----------------------------------------------------------------------

    async def chat_frame(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        pending = self.pending.get(frame.get("conversation")) if "message" in frame else None
        if pending is not None and _message_id(frame) in pending.messages:
            pending.held.append(frame)
            return
        await self.forward(frame)

    async def forward(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind in ("delta", "reasoning_delta"):
            key = (frame["message"], kind)
            have = self.sent.get(key, 0)
            end = frame["offset"] + len(frame["text"])
            if end <= have:
                return  # already in the snapshot
            if frame["offset"] < have:
                frame = {**frame, "offset": have, "text": frame["text"][have - frame["offset"] :]}
            self.sent[key] = end
        elif kind == "done":
            self.sent.pop((frame["message"]["id"], "delta"), None)
            self.sent.pop((frame["message"]["id"], "reasoning_delta"), None)
        await self.send_json(frame)

    async def send_error(
        self,
        code: ErrorCode,
        message: str,
        *,
        conversation: int | None = None,
        client_id: str | None = None,
    ) -> None:
        await self.send_json(
            {
                "type": "error",
                "code": code,
                "message": message,
                "conversation": conversation,
                "client_id": client_id,
            }
        )

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False)


def _message_id(frame: dict[str, Any]) -> int | None:
    message = frame.get("message")
    return message.get("id") if isinstance(message, dict) else message
