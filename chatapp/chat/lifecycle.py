"""The chat engine's life in a server process: what starts with it, and how it stops.

Under daphne (`hook_into_server`, called by chatapp/asgi.py):

- at start, the sweeper runs at once, with no visitor needed: replies a dead process left
  `streaming` become `interrupted` within seconds, and replies left without a cost are costed;
- on SIGTERM (systemd, Docker, Kubernetes stop), `drain` runs before the server exits: new
  sockets and sends are refused, every reply still being written is ended as `interrupted` with
  its text so far and its generation id (the next process costs it), every tab is told the
  server is restarting and its socket closed with 4012 (the page reconnects to a live process
  and resends what it had queued), all within SHUTDOWN_SECONDS.

`stop_all` is the same for tests: every reply stopped, every task ended.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

from django.conf import settings

from chatapp.chat import fanout, sweeper
from chatapp.chat.checkpoints import checkpointer
from chatapp.chat.generation import running_generations
from chatapp.chat.spend import rollups_settled
from chatapp.chat.tasks import background_tasks

log = logging.getLogger(__name__)

# Sockets of this process, closed by `drain` (the consumer adds and removes itself).
sockets: set[Any] = set()
draining = False


def hook_into_server() -> None:
    """Start the engine with daphne's reactor, and on SIGTERM drain it before the reactor
    stops. Does nothing outside daphne (tests, management commands)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not hasattr(reactor, "_asyncioEventloop"):
        return

    def started() -> None:
        loop = reactor._asyncioEventloop
        loop.call_soon(sweeper.sweeper_ensure_running)  # once the loop runs, just after this

        def on_term(signum: int, frame: Any) -> None:
            # A stop would cancel every socket at once (daphne kills its applications before
            # shutting down): drain first, then stop.
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(drain_then_stop()))
            # The last resort, outside the event loop: whatever holds the loop, the process is
            # gone by twice the drain's bound.
            watchdog = threading.Timer(2 * float(settings.CHATAPP_SHUTDOWN_SECONDS), _force_exit)
            watchdog.daemon = True
            watchdog.start()

        async def drain_then_stop() -> None:
            if not draining:
                await drain()
                reactor.stop()
                # Everything is saved; a request still in a thread must not hold the exit.
                loop.call_later(float(settings.CHATAPP_SHUTDOWN_SECONDS), os._exit, 0)

        # Replaces Twisted's handler, installed by the time the reactor runs this.
        signal.signal(signal.SIGTERM, on_term)

    reactor.callWhenRunning(started)


def _force_exit() -> None:
    # Not through logging: its lock may be what holds the process.
    os.write(2, b"chatapp: shutdown did not finish in time; exiting now\n")
    os._exit(1)


async def drain() -> None:
    """Stop taking work, end every reply as interrupted (text and generation id saved), tell
    every tab, close every socket; bounded by CHATAPP_SHUTDOWN_SECONDS."""
    global draining
    draining = True
    timeout = float(settings.CHATAPP_SHUTDOWN_SECONDS)
    log.warning(
        "shutting down: %d reply(ies) being written, %d socket(s)",
        len(running_generations()),
        len(sockets),
    )
    try:
        async with asyncio.timeout(timeout):
            await checkpointer().save()
            workers = []
            for running in running_generations():
                running.interrupt()
                if running.task is not None:
                    workers.append(running.task)
            await asyncio.gather(*workers, return_exceptions=True)  # each writes and announces
            await asyncio.gather(*(socket.restarting() for socket in list(sockets)))
            await rollups_settled()
            await fanout.hub_close()  # after the last frame has gone out
    except TimeoutError:
        log.error("shutdown took longer than %.0f s; stopping anyway", timeout)


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
