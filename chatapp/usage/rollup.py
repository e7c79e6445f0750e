"""The daily rollup (UsageDaily): a cache of Message rows that the dashboard reads.

It stays exact because it is never incremented: each write recomputes one (user, local day)
bucket from the message rows themselves, inside a transaction that holds a per-bucket lock, so
the rollup equals the sum of the stored costs whatever order replies finish in and however
often a cost is corrected. A post_save signal on Message calls it whenever a field that counts
changes; code that writes messages with QuerySet.update() or deletes single messages calls
usage_record() itself. `manage.py usage_rollup --check` proves it, `--rebuild` redoes it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.db import connection, transaction

from chatapp.chat.models import Message
from chatapp.usage.models import UsageDaily
from chatapp.usage.money import usd_to_units
from chatapp.usage.periods import day_bounds, local_zone

# Fields of a Message that change what the rollup holds.
COUNTED_FIELDS = frozenset(
    {
        "cost",
        "paid_by",
        "model_used",
        "prompt_tokens",
        "completion_tokens",
        "created_at",
        "user",
        "user_id",
        "role",
        "conversation",
        "conversation_id",
    }
)
BATCH = 5000

_ROW_FIELDS = (
    "user_id",
    "conversation_id",
    "model_used",
    "paid_by",
    "cost",
    "prompt_tokens",
    "completion_tokens",
    "created_at",
)
Row = tuple[int, int, str, str, Decimal | None, int | None, int | None, datetime]
Key = tuple[int, date, int, str, str]


@dataclass
class _Bucket:
    cost_units: int = 0
    replies: int = 0
    tokens: int = 0
    last_at: datetime | None = field(default=None)

    def add(self, row: Row) -> None:
        self.cost_units += usd_to_units(row[4])
        self.replies += 1
        self.tokens += (row[5] or 0) + (row[6] or 0)
        if self.last_at is None or row[7] > self.last_at:
            self.last_at = row[7]


def _priced_rows() -> Any:
    # Every row but the person's own messages: replies and auto-title calls are spend.
    return Message.objects.exclude(role=Message.Role.USER).values_list(*_ROW_FIELDS)


def _aggregate(rows: Iterable[Row]) -> dict[Key, _Bucket]:
    zone = local_zone()
    buckets: dict[Key, _Bucket] = {}
    for row in rows:
        key = (row[0], row[7].astimezone(zone).date(), row[1], row[2], row[3])
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket()
        bucket.add(row)
    return buckets


def _instances(buckets: dict[Key, _Bucket]) -> Iterator[UsageDaily]:
    for (user_id, day, conversation_id, model, paid_by), b in buckets.items():
        yield UsageDaily(
            user_id=user_id,
            day=day,
            conversation_id=conversation_id,
            model=model,
            paid_by=paid_by,
            cost_units=b.cost_units,
            replies=b.replies,
            tokens=b.tokens,
            last_at=cast(datetime, b.last_at),
        )


def _lock_bucket(user_id: int, day: date) -> None:
    # Two replies of one user finishing at once must not both write a stale bucket: the
    # second waits, then (READ COMMITTED) reads the first one's committed row. SQLite
    # serialises writers already (transactions begin IMMEDIATE).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [user_id * 1_000_000 + day.toordinal()]
            )


def usage_day_refresh(*, user_id: int, day: date) -> None:
    """Recompute one user's rollup rows for one local day from their message rows."""
    start, end = day_bounds(day)
    with transaction.atomic():
        _lock_bucket(user_id, day)
        rows = _priced_rows().filter(user_id=user_id, created_at__gte=start, created_at__lt=end)
        buckets = _aggregate(rows)
        UsageDaily.objects.filter(user_id=user_id, day=day).delete()
        UsageDaily.objects.bulk_create(_instances(buckets))


def usage_record(*, message: Message) -> None:
    """Bring the rollup up to date with `message` (call after saving its cost)."""
    usage_day_refresh(
        user_id=message.user_id, day=message.created_at.astimezone(local_zone()).date()
    )


async def ausage_record(*, message: Message) -> None:
    # A transaction plus a lock: the async ORM has no transactions, so this runs in a thread.
    await sync_to_async(usage_record)(message=message)


def usage_rollup_rebuild() -> int:
    """Recompute the whole rollup from the message rows; return the number of rollup rows."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {UsageDaily._meta.db_table} IN EXCLUSIVE MODE")
        UsageDaily.objects.all().delete()
        buckets = _aggregate(_priced_rows().iterator(chunk_size=BATCH * 4))
        UsageDaily.objects.bulk_create(_instances(buckets), batch_size=BATCH)
    return len(buckets)


def usage_rollup_drift() -> list[str]:
    """Return a line per (user, day) where the rollup differs from the message rows."""
    expected: dict[tuple[int, date], tuple[int, int, int]] = {}
    for (user_id, day, *_), b in _aggregate(_priced_rows().iterator(chunk_size=BATCH * 4)).items():
        c, r, t = expected.get((user_id, day), (0, 0, 0))
        expected[(user_id, day)] = (c + b.cost_units, r + b.replies, t + b.tokens)
    actual: dict[tuple[int, date], tuple[int, int, int]] = {}
    for row in UsageDaily.objects.values_list("user_id", "day", "cost_units", "replies", "tokens"):
        c, r, t = actual.get((row[0], row[1]), (0, 0, 0))
        actual[(row[0], row[1])] = (c + row[2], r + row[3], t + row[4])
    return [
        f"user {key[0]} on {key[1]}: rollup {actual.get(key)} != messages {expected.get(key)}"
        for key in sorted(expected.keys() | actual.keys())
        if expected.get(key) != actual.get(key)
    ]
