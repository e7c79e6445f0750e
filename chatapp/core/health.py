"""Liveness of the two things every request depends on: the database and the channel layer."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.warning("health: database did not answer", exc_info=True)
        return False


async def adatabase_answers() -> bool:
    return await sync_to_async(_database_answers, thread_sensitive=True)()


async def achannel_layer_answers() -> bool:
    """Send a message to a fresh channel and read it back through the layer."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            channel = await layer.new_channel("healthz.")
            await layer.send(channel, {"type": "healthz.ping"})
            message = await layer.receive(channel)
    except Exception:
        log.warning("health: channel layer did not answer", exc_info=True)
        return False
    return message.get("type") == "healthz.ping"
