"""The chat websocket: authenticate, authorize, validate, call a service, reply.

It never talks to OpenRouter and never loops over a stream: generations run in
chatapp/chat/generation.py, the hub (chatapp/chat/fanout.py) delivers their frames, and this
consumer keeps each tab's text contiguous: no gap, no repeat.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chatapp.accounts.models import User
from chatapp.chat import fanout, lifecycle, services
from chatapp.chat.fanout import Frame
from chatapp.chat.generation import generation_start
from chatapp.chat.groups import conversation_group, generation_group, session_tag, user_group
from chatapp.chat.models import Message
from chatapp.chat.protocol import (
    BadFrame,
    ErrorCode,
    MessageData,
    aconversation_data,
    conversation_updated_frame,
    decode_client_frame,
    error_frame,
    message_created_frame,
    message_data,
    restarting_frame,
    snapshot_frame,
    snapshot_request,
    stop_request,
)
from chatapp.chat.services import ChatRefusal, Exchange
from chatapp.chat.sweeper import sweeper_ensure_running

log = logging.getLogger(__name__)

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
    """A subscribe or a resync under way: frames of its conversation wait in `held` until the
    snapshot is sent. `messages` is None until the database has said which replies it covers."""

    token: str
    shown: set[int] = field(default_factory=set)  # replies the tab shows as streaming
    messages: dict[int, MessageData] | None = None
    asked: set[int] = field(default_factory=set)  # streaming: the worker was asked for them
    answered: set[int] = field(default_factory=set)
    held: list[tuple[Frame, str | None]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None  # a resync's snapshot()
    timer: asyncio.Task[None] | None = None  # snapshot_late()

    def holds(self, frame: Frame) -> bool:
        message = _message_id(frame)
        if message is None:
            return False
        return self.messages is None or message in self.messages or message in self.shown


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab. It is a member (chat/fanout.py) of its user's topic, of its own address
    (answers to its snapshot requests) and of every conversation it watches."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if lifecycle.draining:  # shutting down: the page retries, and reaches a live process
            await self.close(code=4013)
            return
        self.user: User = user
        self.hub = fanout.hub()
        self.address = self.hub.address()
        self.watching: set[int] = set()
        # Per (message, kind): how much text this socket has sent, so none is sent twice.
        self.sent: dict[tuple[int, str], int] = {}
        self.finished: set[int] = set()  # replies whose final state this socket has sent
        self.pending: dict[int, PendingSnapshot] = {}
        await self.accept()
        await self.hub.join(user_group(user.pk), self)
        await self.hub.join(self.address, self)
        lifecycle.sockets.add(self)
        sweeper_ensure_running()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "hub"):
            return
        lifecycle.sockets.discard(self)
        for pending in self.pending.values():
            self.cancel_snapshot(pending)
        self.hub.leave(user_group(self.user.pk), self)
        self.hub.leave(self.address, self)
        for pk in self.watching:
            self.hub.leave(conversation_group(pk), self)

    # --- client → server -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
            await self.send_error(
                "too_large",
                f"That is too long: the limit is {MAX_FRAME_BYTES // 1024} KiB per frame.",
            )
            return
        if lifecycle.draining:
            return  # unanswered, the page keeps it and sends it again after reconnecting
        wait = rate_limiter.wait_for(self.user.pk)
        if wait:
            await self.send_error(
                "rate_limited",
                f"Too many requests at once. Wait {math.ceil(wait)} second(s) and try again.",
            )
            return
        try:
            frame: Frame = dict(decode_client_frame(raw))
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

    async def on_subscribe(self, frame: Frame) -> None:
        conversation = await services.aconversation_get(user=self.user, pk=frame["conversation"])
        pk = conversation.pk
        # Hold its frames first, then join: none is missed between now and the snapshot.
        pending = PendingSnapshot(uuid.uuid4().hex, set(frame.get("streaming") or []))
        old = self.pending.pop(pk, None)
        if old is not None:  # this subscribe's snapshot covers what that one would have
            self.cancel_snapshot(old)
            pending.shown |= old.shown
            pending.held = old.held
        self.pending[pk] = pending
        await self.watch(pk)
        await self.snapshot(pk, pending)

    async def on_unsubscribe(self, frame: Frame) -> None:
        pk = frame["conversation"]
        if pk in self.watching:
            self.watching.discard(pk)
            pending = self.pending.pop(pk, None)
            if pending is not None:
                self.cancel_snapshot(pending)
            self.hub.leave(conversation_group(pk), self)

    async def on_stop(self, frame: Frame) -> None:
        pk = frame["conversation"]
        # A conversation this socket watches was checked to be the user's when it joined: no
        # database round trip, which under load can queue behind other sockets' sends.
        if pk not in self.watching:
            pk = (await services.aconversation_get(user=self.user, pk=pk)).pk
        await self.hub.publish(generation_group(pk), stop_request())

    async def on_send(self, frame: Frame) -> None:
        exchange = await services.amessage_send(
            user=self.user,
            conversation_id=frame["conversation"],
            client_id=uuid.UUID(frame["client_id"]),
            content=frame["content"],
            model=frame["model"],
            parent_id=frame.get("parent"),
            attachment_ids=frame.get("attachments") or (),
        )
        await self.begin(exchange, frame["client_id"])

    async def on_regenerate(self, frame: Frame) -> None:
        exchange = await services.amessage_regenerate(
            user=self.user,
            conversation_id=frame["conversation"],
            message_id=frame["message"],
            client_id=uuid.UUID(frame["client_id"]),
            model=frame.get("model"),
        )
        await self.begin(exchange, frame["client_id"])

    async def on_edit(self, frame: Frame) -> None:
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
                await self.send_json(message_created_frame(message, client_id))
            return
        topic = conversation_group(conversation.pk)
        for message in exchange.messages:
            await self.hub.publish(topic, message_created_frame(message, client_id))
        assert exchange.reply is not None
        assert exchange.key is not None
        generation_start(
            reply=exchange.reply,
            conversation=conversation,
            user=self.user,
            history=exchange.history,
            payment=exchange.key,
        )
        if exchange.created_conversation:  # a new conversation has cost nothing yet
            data = await aconversation_data(conversation, cost=Decimal(0))
            await self.hub.publish(user_group(self.user.pk), conversation_updated_frame(data))

    async def watch(self, pk: int) -> None:
        if pk not in self.watching:
            self.watching.add(pk)
            await self.hub.join(conversation_group(pk), self)

    # --- snapshots: the text so far from the worker, then the rest live -----------------------

    def resync_conversation(self, pk: int, *, shown: Iterable[int] = ()) -> None:
        """Frames of `pk` were lost on the way: hold the rest, and send a fresh snapshot of its
        replies (those streaming, and `shown`) before them."""
        pending = self.pending.get(pk)
        if pending is not None:  # one is under way: what it holds is replayed after it
            pending.shown.update(shown)
            return
        pending = self.pending[pk] = PendingSnapshot(uuid.uuid4().hex, set(shown))
        self.hub.counters.resynced += 1
        log.info("socket %s resyncs conversation %s", self.address, pk)
        pending.task = asyncio.get_running_loop().create_task(self.snapshot(pk, pending))

    async def snapshot(self, pk: int, pending: PendingSnapshot) -> None:
        """Send the snapshot now if no reply is streaming; else ask the worker for its text so
        far, and fall back on the database if it has not answered within SNAPSHOT_WAIT."""
        rows = await services.areplies_to_show(conversation_id=pk, shown=pending.shown)
        if self.pending.get(pk) is not pending:
            return  # unsubscribed, or replaced by a newer subscribe
        pending.messages = {m.pk: message_data(m) for m in rows}
        pending.asked = {m.pk for m in rows if m.status == Message.Status.STREAMING}
        if not pending.asked:
            await self.send_snapshot(pk, pending)
            return
        request = snapshot_request(reply_to=self.address, token=pending.token)
        await self.hub.publish(generation_group(pk), request)
        if self.pending.get(pk) is pending:  # the worker may have answered already
            pending.timer = asyncio.get_running_loop().create_task(self.snapshot_late(pk, pending))

    async def snapshot_late(self, pk: int, pending: PendingSnapshot) -> None:
        await asyncio.sleep(SNAPSHOT_WAIT)
        if self.pending.get(pk) is not pending or pending.messages is None:
            return
        # No worker answered for these (it finished just now, or its process died): use the
        # database, which holds the final text or the last checkpoint.
        missing = pending.asked - pending.answered
        async for message in Message.objects.filter(pk__in=missing):
            pending.messages[message.pk] = message_data(message)
        await self.send_snapshot(pk, pending)

    @staticmethod
    def cancel_snapshot(pending: PendingSnapshot) -> None:
        for task in (pending.task, pending.timer):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    async def on_snapshot_part(self, frame: Frame) -> None:
        pending = self.pending.get(frame["conversation"])
        if pending is None or pending.token != frame["token"] or pending.messages is None:
            return
        message = frame["message"]
        pending.messages[message["id"]] = message
        pending.answered.add(message["id"])
        if pending.answered >= pending.asked:
            await self.send_snapshot(frame["conversation"], pending)

    async def send_snapshot(self, pk: int, pending: PendingSnapshot) -> None:
        if self.pending.get(pk) is not pending or pending.messages is None:
            return
        del self.pending[pk]
        self.cancel_snapshot(pending)
        messages = list(pending.messages.values())
        for message in messages:
            if message["status"] != Message.Status.STREAMING:
                self.finished.add(message["id"])
                continue
            # A checkpoint can trail what this socket already sent; the tab keeps the longer
            # text (docs/websocket-protocol.md), so deltas go on from the longer of the two.
            for kind, shown in (
                ("delta", message["content"]),
                ("reasoning_delta", message["reasoning"]),
            ):
                key = (message["id"], kind)
                self.sent[key] = max(self.sent.get(key, 0), len(shown))
        await self.send_json(snapshot_frame(pk, messages))
        for frame, text in pending.held:
            await self.forward(frame, text)

    # --- server → client (a fanout.Member) ----------------------------------------------------

    async def deliver(self, topic: str, frame: Frame, text: str) -> None:
        if frame["type"] == "snapshot_part":
            await self.on_snapshot_part(frame)
            return
        if frame["type"] == "session_ended":
            if frame.get("session") in (None, session_tag(self.scope.get("session"))):
                await self.close(code=4401)  # signed out: the page says so, and stays closed
            return
        pending = self.pending.get(frame["conversation"]) if "message" in frame else None
        if pending is not None and pending.holds(frame):
            pending.held.append((frame, text))
            return
        await self.forward(frame, text)

    def resync(self, topic: str) -> None:
        for pk in self.watching:
            if topic == conversation_group(pk):
                self.resync_conversation(pk, shown=self.streaming_shown(pk))

    def streaming_shown(self, pk: int) -> set[int]:
        """Replies this socket has sent text of and no final state yet (of any conversation:
        the snapshot's query keeps only those of `pk`)."""
        return {message for message, _ in self.sent if message not in self.finished}

    async def forward(self, frame: Frame, text: str | None) -> None:
        kind = frame["type"]
        if kind in ("delta", "reasoning_delta"):
            message = frame["message"]
            if message in self.finished:
                return  # a late copy: the final text is out already
            key = (message, kind)
            have = self.sent.get(key, 0)
            if frame["offset"] > have:  # frames were lost on the way: repair from the worker
                self.resync_conversation(frame["conversation"], shown={message})
                self.pending[frame["conversation"]].held.append((frame, text))
                return
            end = frame["offset"] + len(frame["text"])
            if end <= have:
                return  # already in the snapshot
            if frame["offset"] < have:
                frame = {**frame, "offset": have, "text": frame["text"][have - frame["offset"] :]}
                text = None
            self.sent[key] = end
        elif kind == "done":
            message = frame["message"]["id"]
            self.sent.pop((message, "delta"), None)
            self.sent.pop((message, "reasoning_delta"), None)
            self.finished.add(message)
        await self.send(text_data=fanout.encode(frame) if text is None else text)

    async def restarting(self) -> None:
        """The server is shutting down: say so, and close so that the page reconnects."""
        await self.send_json(restarting_frame())
        await self.close(code=4012)  # 1012 "service restart" is not ours to send

    async def send_error(
        self,
        code: ErrorCode,
        message: str,
        *,
        conversation: int | None = None,
        client_id: str | None = None,
    ) -> None:
        await self.send_json(
            error_frame(code, message, conversation=conversation, client_id=client_id)
        )

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return fanout.encode(content)


def _message_id(frame: Frame) -> int | None:
    message = frame.get("message")
    return message.get("id") if isinstance(message, dict) else message
