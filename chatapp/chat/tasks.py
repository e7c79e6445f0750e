"""Background tasks of this server process: started with `spawn`, never lost to the collector."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

# Strong references: the event loop keeps only weak ones to tasks.
_background: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `coro` in the background of this process, keeping a reference until it ends."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


def background_tasks() -> list[asyncio.Task[Any]]:
    """The tasks still running on this event loop."""
    loop = asyncio.get_running_loop()
    return [task for task in _background if task.get_loop() is loop and not task.done()]
