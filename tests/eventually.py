"""The one bounded wait of the suite: poll a condition until it holds, or fail at a deadline.

For what another thread or process does (the stand-in's logs, the sweeper, a row lock): the
test states what it waits for, never how long anything took.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 10.0
INTERVAL = 0.02


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    failure: str = "the condition never held",
) -> T:
    """Return the first truthy result of `check()` (sync or async), polled every `interval`
    seconds; fail the test with `failure` once `timeout` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() >= deadline:
            raise AssertionError(failure)
        await asyncio.sleep(interval)


def eventually_blocking(
    check: Callable[[], T],
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    failure: str = "the condition never held",
) -> T:
    """`eventually` for a sync test (one that holds a database lock in its own thread)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(failure)
        time.sleep(interval)
    return result
