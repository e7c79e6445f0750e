"""Stopping the chat engine of this process: every reply, background task, sweep and link."""

from __future__ import annotations

import asyncio

from chatapp.chat import fanout, sweeper
from chatapp.chat.generation import rollups_settled, running_generations
from chatapp.chat.tasks import background_tasks


async def stop_all() -> None:
    """Stop every reply (each writes its final state), then everything else, and wait for it."""
    loop = asyncio.get_running_loop()
    workers = []
    for running in running_generations():
        running.stop()
        if running.task is not None and running.task.get_loop() is loop:
            workers.append(running.task)
    await asyncio.gather(*workers, return_exceptions=True)
    await rollups_settled()
    tasks = background_tasks()
    sweep = sweeper.sweeper_stop()
    if sweep is not None:
        tasks.append(sweep)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await rollups_settled()  # no refresh may write after this
    await fanout.hub_close()
