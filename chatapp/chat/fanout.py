"""Delivery: how a frame reaches every socket and worker that should see it, in every process.

One `Hub` per server process. Topics are the names in `groups.py`. A socket or a worker
`join`s a topic; `publish` hands a frame to every member in this process at once, serialised
once however many sockets there are, and, with REDIS_URL set, to the other processes through
Redis pub/sub: one PUBLISH per frame, which Redis passes once to each process that has members
of the topic, and each of those fans it out in memory again. A reply watched by a thousand
sockets on four processes crosses Redis four times.

Why pub/sub and not Channels' layer or Redis Streams: the layer sends one message per socket and
drains it through one shared queue per process, which dropped frames under load (its capacity)
and made a second process slower rather than faster. Streams would keep every delta on the
server only to replay what a socket already gets from the worker's text so far. Pub/sub is the
cheapest thing Redis does, and its one weakness, at-most-once delivery on a broken connection,
is repaired here rather than hidden:

- Frames for Redis wait in one queue per process and go out one pipeline per round trip. A delta
  queued while a round trip is in flight merges into the delta before it (coalescing), so a slow
  Redis gets fewer, bigger frames, never fewer words.
- When the subscriber connection breaks, the hub reconnects, subscribes again and tells every
  member to resync: a socket asks the worker for the text so far (or reads the checkpoint). A
  socket that sees a delta beyond what it has resyncs too (chat/consumers.py).
- Frames that could not reach Redis for MAX_BACKLOG_SECONDS are dropped, counted and logged at
  WARNING with their topic; the members on the far side resync when the bus is back.

`counters` are exposed at /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis.asyncio as redis
from asgiref.sync import async_to_sync
from django.conf import settings

log = logging.getLogger(__name__)

Frame = Mapping[str, Any]  # a frame built by chat/protocol.py; members only read it

MAX_BACKLOG_SECONDS = 30.0
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
# How often an idle subscriber wakes to check its connection (redis-py sends a PING).
HEALTH_CHECK_SECONDS = 5


def encode(frame: Frame) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


class Member(Protocol):
    """A socket or a worker: it gets the frames of the topics it joined."""

    async def deliver(self, topic: str, frame: Frame, text: str) -> None:
        """Take one frame (`text` is it serialised). Must not wait on anything but a send."""

    def resync(self, topic: str) -> None:
        """Frames of `topic` may have been lost (the bus reconnected): repair what is shown."""


@dataclass
class Counters:
    """What the hub did since the process started; /metrics shows them."""

    published: int = 0  # frames published by this process
    to_redis: int = 0  # of those, sent to Redis
    from_redis: int = 0  # frames from other processes delivered here
    coalesced: int = 0  # deltas merged into the one before them on the way to Redis
    dropped: int = 0  # frames given up on: Redis was away longer than MAX_BACKLOG_SECONDS
    resynced: int = 0  # sockets that repaired a gap from the worker's text or the checkpoint
    reconnects: int = 0  # times the connection to Redis was made again

    def items(self) -> Iterator[tuple[str, int]]:
        for f in fields(self):
            yield f.name, getattr(self, f.name)


class Hub:
    def __init__(self, redis_url: str = "") -> None:
        self.node = uuid.uuid4().hex[:12]
        self.loop = asyncio.get_running_loop()
        self.members: dict[str, set[Member]] = {}
        self.counters = Counters()
        self._next_address = 0
        self.bus = RedisBus(self, redis_url) if redis_url else None

    # --- membership ----------------------------------------------------------------------------

    async def join(self, topic: str, member: Member) -> None:
        """Add `member` to `topic`; returns once frames of other processes reach it too."""
        members = self.members.setdefault(topic, set())
        members.add(member)
        if self.bus is not None:
            await self.bus.subscribe(topic)

    def leave(self, topic: str, member: Member) -> None:
        members = self.members.get(topic)
        if members is None:
            return
        members.discard(member)
        if not members:
            del self.members[topic]
            if self.bus is not None:
                self.bus.unsubscribe(topic)

    def address(self) -> str:
        """A new topic that only one member joins, reachable by `publish` from any process."""
        self._next_address += 1
        return f"node.{self.node}.{self._next_address}"

    # --- sending -------------------------------------------------------------------------------

    async def publish(self, topic: str, frame: Frame) -> None:
        """Hand `frame` to every member of `topic` in every process. Members must not change it."""
        self.counters.published += 1
        await self.deliver(topic, frame)
        if self.bus is not None and not _is_local(topic, self.node):
            self.bus.enqueue(topic, frame)

    async def deliver(self, topic: str, frame: Frame, text: str | None = None) -> None:
        members = self.members.get(topic)
        if not members:
            return
        text = encode(frame) if text is None else text
        for member in tuple(members):
            try:
                await member.deliver(topic, frame, text)
            except Exception:  # one broken socket must not keep the frame from the others
                log.exception("could not deliver a %s frame on %s", frame.get("type"), topic)

    def resync_all(self) -> None:
        for topic, members in list(self.members.items()):
            for member in tuple(members):
                member.resync(topic)

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()


def _is_local(topic: str, node: str) -> bool:
    return topic.startswith(f"node.{node}.")


# --- Redis -------------------------------------------------------------------------------------


class RedisBus:
    """The hub's link to the other processes: a publisher with a coalescing queue, and one
    subscriber connection for every topic this process has members of."""

    def __init__(self, hub: Hub, url: str) -> None:
        self.hub = hub
        self.url = url
        # Pub/sub channels are not per database: the database number keeps two deployments
        # (or two test runs) on one Redis apart.
        database = urlsplit(url).path.strip("/") or "0"
        self.prefix = f"chatapp.{database}."
        self.publisher = redis.Redis.from_url(url)
        self.queue: list[tuple[str, Frame, float]] = []
        self.tail: dict[str, int] = {}  # topic → index in `queue` of its newest frame
        self.flusher: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.pubsub: Any = None
        self.subscribed: dict[str, asyncio.Future[None]] = {}  # channel → confirmed by Redis
        self.sent: set[str] = set()  # channels subscribed to on the current connection
        self.stale = False  # some channel in `sent` has no members any more
        self.connected = asyncio.Event()

    # --- subscribing ---------------------------------------------------------------------------

    def _channel(self, topic: str) -> str:
        return self.prefix + topic

    def _topic(self, channel: str) -> str:
        return channel[len(self.prefix) :]

    def _node_channel(self) -> str:
        return self._channel(f"node.{self.hub.node}.*")

    async def subscribe(self, topic: str) -> None:
        self._ensure_reader()
        channel = self._channel(topic)
        if _is_local(topic, self.hub.node):
            channel = self._node_channel()  # one pattern for every address of this process
        ack = self.subscribed.get(channel)
        if ack is None:
            ack = self.subscribed[channel] = self.hub.loop.create_future()
            if channel in self.sent:  # left but not yet unsubscribed: still subscribed
                ack.set_result(None)
            elif self.connected.is_set():
                self.sent.add(channel)
                await self._send_subscribe(channel)
        # Bounded: with Redis away, frames from other processes come later, after a resync.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.shield(ack)

    def unsubscribe(self, topic: str) -> None:
        """Forget `topic`; the reader unsubscribes from Redis in order with its other commands."""
        if not _is_local(topic, self.hub.node):
            self.subscribed.pop(self._channel(topic), None)
            self.stale = True

    async def _send_subscribe(self, channel: str) -> None:
        if channel.endswith("*"):
            await self.pubsub.psubscribe(channel)
        else:
            await self.pubsub.subscribe(channel)

    async def _unsubscribe_stale(self) -> None:
        self.stale = False
        stale = [channel for channel in self.sent if channel not in self.subscribed]
        if stale:
            self.sent.difference_update(stale)
            await self.pubsub.unsubscribe(*stale)

    def _ensure_reader(self) -> None:
        if self.reader is None or self.reader.done():
            self.reader = self.hub.loop.create_task(self._read_forever())
            self.subscribed.setdefault(self._node_channel(), self.hub.loop.create_future())

    async def _read_forever(self) -> None:
        attempt = 0
        first = True
        while True:
            client = redis.Redis.from_url(self.url, health_check_interval=HEALTH_CHECK_SECONDS)
            self.pubsub = client.pubsub()
            try:
                while missing := [c for c in self.subscribed if c not in self.sent]:
                    for channel in missing:
                        self.sent.add(channel)
                        await self._send_subscribe(channel)
                self.connected.set()  # no await since the last check: no join is left out
                if not first:
                    self.hub.counters.reconnects += 1
                    log.warning("the connection to Redis is back: resyncing every socket")
                    self.hub.resync_all()
                first, attempt = False, 0
                while True:
                    message = await self.pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._on_message(message)
                    if self.stale:
                        await self._unsubscribe_stale()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                self.sent.clear()
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning("lost the Redis subscription (%r); again in %.2f s", exc, delay)
                for channel, ack in list(self.subscribed.items()):
                    if ack.done():  # confirmed on the old connection: needs confirming again
                        self.subscribed[channel] = self.hub.loop.create_future()
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await self.pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = message["pattern"] if kind == "pmessage" else message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if kind in ("subscribe", "psubscribe"):
            ack = self.subscribed.get(channel)
            if ack is not None and not ack.done():
                ack.set_result(None)
            return
        if kind not in ("message", "pmessage"):
            return
        origin, _, text = message["data"].decode().partition("\n")
        if origin == self.hub.node:
            return  # published here: delivered to this process's members already
        self.hub.counters.from_redis += 1
        topic = message["channel"]
        topic = self._topic(topic.decode() if isinstance(topic, bytes) else topic)
        await self.hub.deliver(topic, json.loads(text), text)

    # --- publishing ----------------------------------------------------------------------------

    def enqueue(self, topic: str, frame: Frame) -> None:
        at = self.tail.get(topic)
        if at is not None and _mergeable(self.queue[at][1], frame):
            queued, before, when = self.queue[at]
            # A new dict: the queued one may be held by a member (frames are read-only).
            self.queue[at] = (queued, {**before, "text": before["text"] + frame["text"]}, when)
            self.hub.counters.coalesced += 1
        else:
            self.tail[topic] = len(self.queue)
            self.queue.append((topic, frame, time.monotonic()))
        if self.flusher is None or self.flusher.done():
            self.flusher = self.hub.loop.create_task(self._flush())

    async def _flush(self) -> None:
        attempt = 0
        while self.queue:
            batch, self.queue, self.tail = self.queue, [], {}
            try:
                async with self.publisher.pipeline(transaction=False) as pipe:
                    for topic, frame, _ in batch:
                        pipe.publish(self._channel(topic), f"{self.hub.node}\n{encode(frame)}")
                    await pipe.execute()
                self.hub.counters.to_redis += len(batch)
                attempt = 0
            except Exception as exc:
                self._requeue(batch)
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning("could not publish to Redis (%r); again in %.2f s", exc, delay)
                await asyncio.sleep(delay)

    def _requeue(self, batch: list[tuple[str, Frame, float]]) -> None:
        """Put a batch that failed back in front of what came since, dropping what is too old."""
        cutoff = time.monotonic() - MAX_BACKLOG_SECONDS
        kept = []
        for item in batch:
            if item[2] >= cutoff:
                kept.append(item)
            else:
                self.hub.counters.dropped += 1
                log.warning(
                    "dropped a %s frame for %s: Redis away too long", item[1]["type"], item[0]
                )
        pending, self.queue, self.tail = self.queue, [], {}
        for topic, frame, when in kept + pending:
            self.tail[topic] = len(self.queue)
            self.queue.append((topic, frame, when))

    async def close(self) -> None:
        if self.flusher is not None and not self.flusher.done():  # let the last frames go out
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.flusher), 2.0)
        for task in (self.reader, self.flusher):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.publisher.aclose()


def _mergeable(before: Frame, frame: Frame) -> bool:
    return (
        frame["type"] in ("delta", "reasoning_delta")
        and before["type"] == frame["type"]
        and before["message"] == frame["message"]
        and before["offset"] + len(before["text"]) == frame["offset"]
    )


# --- the process's hub ---------------------------------------------------------------------------

_hub: Hub | None = None


def hub() -> Hub:
    """This process's hub (one per event loop: each test runs on a loop of its own)."""
    global _hub
    if _hub is None or _hub.loop is not asyncio.get_running_loop():
        _hub = Hub(settings.REDIS_URL)
    return _hub


def counters() -> Counters:
    """This process's counts so far (zeros before its first socket)."""
    return _hub.counters if _hub is not None else Counters()


async def publish(topic: str, frame: Frame) -> None:
    await hub().publish(topic, frame)


def publish_from_sync(topic: str, frame: Frame) -> None:
    """Publish from synchronous code (a signal handler): on the server's loop when called from
    one of its threads, else on a loop of its own, whose hub is closed again."""

    async def once() -> None:
        created = _hub is None or _hub.loop is not asyncio.get_running_loop()
        await publish(topic, frame)
        if created:
            await hub_close()

    async_to_sync(once)()


async def hub_close() -> None:
    """Close this loop's hub (tests, and shutdown)."""
    global _hub
    if _hub is not None and _hub.loop is asyncio.get_running_loop():
        await _hub.close()
        _hub = None
