"""The rollups the dashboard reads: caches of Message rows, exact by construction.

- UsageDaily: spend per (user, local day, model, payer) — totals, the chart, users, models
  when a user is chosen; UserUsageDaily per (user, day) and SiteUsageDaily per (day, model,
  payer) are the same sums, coarser, so that site-wide views read a few thousand rows;
- ConversationUsage / ConversationModelUsage: each conversation's spend (in all, and per
  model) and the local days it spans — the most expensive conversations.

They stay exact because they are never incremented: each write recomputes one (user, local
day) bucket, and the conversations in it, from the message rows themselves, inside a
transaction that holds a per-bucket lock. So the rollups equal the sums of the stored costs
whatever order replies finish in and however often a cost is corrected. A post_save signal on
Message calls it whenever a field that counts changes, and deleting a conversation refreshes
the days it spanned (signals.py); code that writes messages with QuerySet.update() or deletes
single messages calls usage_record() / usage_day_refresh() itself.
`manage.py usage_rollup --check` proves it, `--rebuild` redoes it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Sum

from chatapp.chat.models import Message
from chatapp.core.periods import day_bounds, local_zone
from chatapp.usage.models import (
    ConversationModelUsage,
    ConversationUsage,
    DeletedSpend,
    SiteUsageDaily,
    UsageDaily,
    UserUsageDaily,
)
from chatapp.usage.money import cost_columns, cost_sums, summed_units, usd_to_units

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
SITE_LOCK = 7  # namespace of the per-day advisory lock of SiteUsageDaily

_ROW_FIELDS = (
    "user_id",
    "conversation_id",
    "model_used",
    "paid_by",
    "cost",
    "prompt_tokens",
    "completion_tokens",
    "created_at",
    "cache_savings",
)
Row = tuple[int, int, str, str, Decimal | None, int | None, int | None, datetime, Decimal | None]
DayKey = tuple[int, date, str, str]  # user, day, model, payer
ConvKey = tuple[int, int]  # conversation, user
ConvModelKey = tuple[int, int, str]  # conversation, user, model


@dataclass
class _Bucket:
    units: int = 0  # 10⁻²⁰ USD
    saved: int = 0  # cache savings, 10⁻²⁰ USD
    replies: int = 0
    tokens: int = 0
    first_at: datetime | None = field(default=None)
    last_at: datetime | None = field(default=None)

    def add(self, row: Row) -> None:
        self.units += usd_to_units(row[4])
        self.saved += usd_to_units(row[8])
        self.replies += 1
        self.tokens += (row[5] or 0) + (row[6] or 0)
        if self.last_at is None or row[7] > self.last_at:
            self.last_at = row[7]
        if self.first_at is None or row[7] < self.first_at:
            self.first_at = row[7]


@dataclass
class _Rollup:
    days: dict[DayKey, _Bucket] = field(default_factory=dict)
    convs: dict[ConvKey, _Bucket] = field(default_factory=dict)
    conv_models: dict[ConvModelKey, _Bucket] = field(default_factory=dict)
    users: dict[tuple[int, date], _Bucket] = field(default_factory=dict)
    site: dict[tuple[date, str, str], _Bucket] = field(default_factory=dict)


def _priced_rows() -> Any:
    # Replies and auto-title calls with a recorded cost. A reply refused or failed before
    # OpenRouter charged anything has none and is no spend (the engine's placeholder skips
    # the save signals, and it records usage only once a cost is known).
    return (
        Message.objects.exclude(role=Message.Role.USER)
        .filter(cost__isnull=False)
        .values_list(*_ROW_FIELDS)
    )


def _add(table: dict[Any, _Bucket], key: Any, row: Row) -> None:
    bucket = table.get(key)
    if bucket is None:
        bucket = table[key] = _Bucket()
    bucket.add(row)


def _aggregate(rows: Iterable[Row], *, days: bool = True, convs: bool = True) -> _Rollup:
    zone = local_zone()
    rollup = _Rollup()
    for row in rows:
        if days:
            day = row[7].astimezone(zone).date()
            _add(rollup.days, (row[0], day, row[2], row[3]), row)
            _add(rollup.users, (row[0], day), row)
            _add(rollup.site, (day, row[2], row[3]), row)
        if convs:
            _add(rollup.convs, (row[1], row[0]), row)
            _add(rollup.conv_models, (row[1], row[0], row[2]), row)
    return rollup


def _day_rows(buckets: dict[DayKey, _Bucket]) -> Iterator[UsageDaily]:
    for (user_id, day, model, paid_by), b in buckets.items():
        yield UsageDaily(
            user_id=user_id,
            day=day,
            model=model,
            paid_by=paid_by,
            **cost_columns(b.units),
            **cost_columns(b.saved, "saved"),
            replies=b.replies,
            tokens=b.tokens,
            last_at=cast(datetime, b.last_at),
        )


def _user_rows(buckets: dict[tuple[int, date], _Bucket]) -> Iterator[UserUsageDaily]:
    for (user_id, day), b in buckets.items():
        yield UserUsageDaily(
            user_id=user_id,
            day=day,
            **cost_columns(b.units),
            **cost_columns(b.saved, "saved"),
            replies=b.replies,
            tokens=b.tokens,
            last_at=cast(datetime, b.last_at),
        )


def _site_rows(buckets: dict[tuple[date, str, str], _Bucket]) -> Iterator[SiteUsageDaily]:
    for (day, model, paid_by), b in buckets.items():
        yield SiteUsageDaily(
            day=day,
            model=model,
            paid_by=paid_by,
            **cost_columns(b.units),
            **cost_columns(b.saved, "saved"),
            replies=b.replies,
            tokens=b.tokens,
        )


def _span(b: _Bucket) -> dict[str, Any]:
    zone = local_zone()
    return {
        **cost_columns(b.units),
        "replies": b.replies,
        "tokens": b.tokens,
        "first_day": cast(datetime, b.first_at).astimezone(zone).date(),
        "last_day": cast(datetime, b.last_at).astimezone(zone).date(),
    }


def _conv_rows(buckets: dict[ConvKey, _Bucket]) -> Iterator[ConversationUsage]:
    for (conversation_id, user_id), b in buckets.items():
        yield ConversationUsage(conversation_id=conversation_id, user_id=user_id, **_span(b))


def _conv_model_rows(buckets: dict[ConvModelKey, _Bucket]) -> Iterator[ConversationModelUsage]:
    for (conversation_id, user_id, model), b in buckets.items():
        yield ConversationModelUsage(
            conversation_id=conversation_id, user_id=user_id, model=model, **_span(b)
        )


def _lock_bucket(user_id: int, day: date) -> None:
    # Two replies of one user finishing at once must not both write a stale bucket: the
    # second waits, then (READ COMMITTED) reads the first one's committed row. SQLite
    # serialises writers already (transactions begin IMMEDIATE).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = user_id * 1_000_000 + day.toordinal()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _site_day_refresh(day: date) -> None:
    # Summed from the day's UsageDaily rows (a few hundred), under a lock per day.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SITE_LOCK, day.toordinal()])
    sums = (
        UsageDaily.objects.filter(day=day)
        .values("model", "paid_by")
        .annotate(
            **cost_sums(), **cost_sums("sv_", column="saved"), n=Sum("replies"), tok=Sum("tokens")
        )
        .order_by()
    )
    rows = [
        SiteUsageDaily(
            day=day,
            model=r["model"],
            paid_by=r["paid_by"],
            **cost_columns(summed_units(r)),
            **cost_columns(summed_units(r, "sv_"), "saved"),
            replies=int(r["n"]),
            tokens=int(r["tok"]),
        )
        for r in sums
    ]
    SiteUsageDaily.objects.filter(day=day).delete()
    SiteUsageDaily.objects.bulk_create(rows)


def _conversations_refresh(conversation_ids: set[int]) -> None:
    rollup = _aggregate(_priced_rows().filter(conversation_id__in=conversation_ids), days=False)
    ConversationUsage.objects.filter(conversation_id__in=conversation_ids).delete()
    ConversationModelUsage.objects.filter(conversation_id__in=conversation_ids).delete()
    ConversationUsage.objects.bulk_create(_conv_rows(rollup.convs))
    ConversationModelUsage.objects.bulk_create(_conv_model_rows(rollup.conv_models))


def usage_day_refresh(*, user_id: int, day: date, conversation_ids: Iterable[int] = ()) -> None:
    """Recompute one user's rollup rows for one local day from the message rows, and the
    totals of `conversation_ids` (the conversations whose messages changed)."""
    start, end = day_bounds(day)
    with transaction.atomic():
        _lock_bucket(user_id, day)
        rows = _priced_rows().filter(user_id=user_id, created_at__gte=start, created_at__lt=end)
        rollup = _aggregate(rows, convs=False)
        UsageDaily.objects.filter(user_id=user_id, day=day).delete()
        UsageDaily.objects.bulk_create(_day_rows(rollup.days))
        UserUsageDaily.objects.filter(user_id=user_id, day=day).delete()
        UserUsageDaily.objects.bulk_create(_user_rows(rollup.users))
        _site_day_refresh(day)
        if conversations := set(conversation_ids):
            _conversations_refresh(conversations)


def usage_record(*, message: Message) -> None:
    """Bring the rollups up to date with `message` (call after saving its cost)."""
    usage_day_refresh(
        user_id=message.user_id,
        day=message.created_at.astimezone(local_zone()).date(),
        conversation_ids=[message.conversation_id],
    )


def usage_forget_conversation(*, conversation_id: int) -> set[tuple[int, date]]:
    """Keep the spend of a conversation about to be deleted, per day, model and payer; return
    the (user, day) buckets it counted in, to refresh once it is gone."""
    rollup = _aggregate(_priced_rows().filter(conversation_id=conversation_id), convs=False)
    DeletedSpend.objects.bulk_create(
        DeletedSpend(
            user_id=user_id,
            day=day,
            model=model,
            paid_by=paid_by,
            **cost_columns(b.units),
            replies=b.replies,
            tokens=b.tokens,
        )
        for (user_id, day, model, paid_by), b in rollup.days.items()
        if b.units
    )
    return set(rollup.users)


ROLLUPS = (UsageDaily, UserUsageDaily, SiteUsageDaily, ConversationUsage, ConversationModelUsage)


def usage_rollup_rebuild() -> int:
    """Recompute every rollup from the message rows; return the number of daily rows."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            tables = ", ".join(m._meta.db_table for m in ROLLUPS)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        for model in ROLLUPS:
            model.objects.all().delete()
        rollup = _aggregate(_priced_rows().iterator(chunk_size=BATCH * 4))
        UsageDaily.objects.bulk_create(_day_rows(rollup.days), batch_size=BATCH)
        UserUsageDaily.objects.bulk_create(_user_rows(rollup.users), batch_size=BATCH)
        SiteUsageDaily.objects.bulk_create(_site_rows(rollup.site), batch_size=BATCH)
        ConversationUsage.objects.bulk_create(_conv_rows(rollup.convs), batch_size=BATCH)
        ConversationModelUsage.objects.bulk_create(
            _conv_model_rows(rollup.conv_models), batch_size=BATCH
        )
    return len(rollup.days)


def usage_rollup_drift() -> list[str]:
    """Return a line per rollup row that differs from what the message rows say."""
    expected = _aggregate(_priced_rows().iterator(chunk_size=BATCH * 4))
    drift = _diff("daily", _day_rows(expected.days), UsageDaily.objects.all(), _day_key)
    drift += _diff(
        "conversation", _conv_rows(expected.convs), ConversationUsage.objects.all(), _conv_key
    )
    drift += _diff(
        "conversation/model",
        _conv_model_rows(expected.conv_models),
        ConversationModelUsage.objects.all(),
        _conv_model_key,
    )
    return drift


def _day_key(r: Any) -> tuple[Any, ...]:
    return (r.user_id, r.day, r.model, r.paid_by)


def _user_key(r: Any) -> tuple[Any, ...]:
    return (r.user_id, r.day)


def _site_key(r: Any) -> tuple[Any, ...]:
    return (r.day, r.model, r.paid_by)


def _conv_key(r: Any) -> tuple[Any, ...]:
    return (r.conversation_id,)


def _conv_model_key(r: Any) -> tuple[Any, ...]:
    return (r.conversation_id, r.model)


_COMPARED = (
    "user_id",
    "cost_units",
    "cost_subunits",
    "saved_units",
    "saved_subunits",
    "replies",
    "tokens",
    "first_day",
    "last_day",
    "last_at",
)


def _diff(name: str, expected: Iterable[Any], actual: Iterable[Any], key: Any) -> list[str]:
    def values(r: Any) -> tuple[Any, ...]:
        return tuple(getattr(r, f, None) for f in _COMPARED)

    want = {key(r): values(r) for r in expected}
    have = {key(r): values(r) for r in actual}
    return [
        f"{name} {k}: rollup {have.get(k)} != messages {want.get(k)}"
        for k in sorted(want.keys() | have.keys(), key=str)
        if want.get(k) != have.get(k)
    ]
