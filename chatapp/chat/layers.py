"""Our two channel layers: Channels' in-memory one and channels-redis's, each with one fix.

In memory (the embedded default): Channels' layer walks every channel and every group for
expired entries on each receive(): with N sockets and N generations that is O(N) work per
delta, and it was the largest single cost of relaying a stream at 100 concurrent streams.
Expiry is measured in seconds (default 60 s for messages, a day for groups), so sweeping at
most once a second loses nothing.

Redis (scaled out): every socket of a process shares one Redis queue, read by whichever
receive() holds the process's receive lock, with a blocking BZPOPMIN. When that receive() is
cancelled — a socket closing, a generation ending — redis-py drops the connection mid-command,
and a message Redis had already popped for *another* socket is lost (channels-redis #366). For a
chat that is a hole in someone else's reply. Here the pop runs in its own task, which a
cancelled receive() leaves running: the next receive() takes its result, or, when there is
none, the message goes to its socket's buffer as it would have.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer

log = logging.getLogger(__name__)

SWEEP_EVERY = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    _last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = now
            super()._clean_expired()


@dataclass(eq=False)
class _Pop:
    """One read of the process's shared queue, and who takes the message it returns."""

    task: asyncio.Task[Any]
    claimed: bool = True  # a receive() is waiting for it
    handed_over: bool = False


class RedisChannelLayer(ChannelsRedisChannelLayer):
    _pop: _Pop | None = None

    async def receive_single(self, channel: str) -> Any:
        if not channel.endswith("!"):  # a named channel, not this process's shared queue
            return await super().receive_single(channel)
        loop = asyncio.get_running_loop()
        pop = self._pop
        if pop is None or pop.task.get_loop() is not loop:
            pop = self._pop = _Pop(loop.create_task(super().receive_single(channel)))
            pop.task.add_done_callback(lambda _: self._pop_done(pop))
        pop.claimed = True
        try:
            result = await asyncio.shield(pop.task)
        except asyncio.CancelledError:
            # Cancelled while waiting, or just after the message came (then it is ours to
            # pass on): either way it must reach its socket's buffer.
            pop.claimed = False
            if pop.task.done():
                self._hand_over(pop)
            raise
        pop.handed_over = True  # receive() buffers it
        return result

    def _pop_done(self, pop: _Pop) -> None:
        if self._pop is pop:
            self._pop = None
        if not pop.claimed:
            self._hand_over(pop)

    def _hand_over(self, pop: _Pop) -> None:
        if pop.handed_over or pop.task.cancelled():
            return
        pop.handed_over = True
        if (error := pop.task.exception()) is not None:
            log.warning("reading the channel layer failed: %r", error)
            return
        channels, message = pop.task.result()
        for channel in channels if isinstance(channels, list) else [channels]:
            self.receive_buffer[channel].put_nowait(message)

    async def close_pools(self) -> None:
        pop = self._pop
        if pop is not None and pop.task.get_loop() is asyncio.get_running_loop():
            pop.task.cancel()
            await asyncio.gather(pop.task, return_exceptions=True)
        await super().close_pools()
