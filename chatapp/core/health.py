"""Liveness of the two things every request depends on: the database and, scaled out, Redis."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        log.warning("health: database did not answer", exc_info=True)
        return False


async def adatabase_answers() -> bool:
    return await sync_to_async(_database_answers, thread_sensitive=True)()


async def abus_answers() -> bool:
    """With REDIS_URL set, whether Redis (which carries frames between processes) answers."""
    url = settings.REDIS_URL
    if not url:
        return True  # one process: frames never leave it
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            return bool(await client.ping())  # type: ignore[misc]  # redis-py: sync | async
    except Exception:
        log.warning("health: Redis did not answer", exc_info=True)
        return False
    finally:
        await client.aclose()
