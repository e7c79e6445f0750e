"""The in-memory channel layer of the embedded default, without its per-receive full sweep.

Channels' InMemoryChannelLayer walks every channel and every group for expired entries on each
receive(): with N sockets and N generations that is O(N) work per delta, and it was the largest
single cost of relaying a stream at 100 concurrent streams. Expiry is measured in seconds
(default 60 s for messages, a day for groups), so sweeping at most once a second loses nothing.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

SWEEP_EVERY = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    _last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = now
            super()._clean_expired()
