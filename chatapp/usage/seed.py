"""Synthetic users, conversations and priced replies for benchmarks (never for real sites).

Rows go in through COPY on PostgreSQL (a million replies in a minute or two) and through
executemany on SQLite; Django's save path is skipped, so the rollup is rebuilt at the end.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Model

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message
from chatapp.core.periods import local_zone
from chatapp.usage.rollup import usage_rollup_rebuild

PER_MILLION = Decimal("0.000001")
TEN_PLACES = Decimal("0.0000000001")
# (model id, prompt $/M tokens, completion $/M tokens, popularity)
MODELS = [
    ("openai/gpt-4o-mini", "0.15", "0.6", 30),
    ("anthropic/claude-3.5-sonnet", "3", "15", 16),
    ("openai/gpt-4o", "2.5", "10", 12),
    ("google/gemini-flash-1.5", "0.075", "0.3", 10),
    ("meta-llama/llama-3.1-8b-instruct:free", "0", "0", 9),
    ("deepseek/deepseek-chat", "0.14", "0.28", 8),
    ("meta-llama/llama-3.1-70b-instruct", "0.12", "0.3", 5),
    ("anthropic/claude-3-haiku", "0.25", "1.25", 4),
    ("mistralai/mistral-large", "2", "6", 3),
    ("google/gemini-pro-1.5", "1.25", "5", 3),
    ("qwen/qwen-2.5-72b-instruct", "0.35", "0.4", 2),
    ("openai/o1-mini", "3", "12", 2),
]
PRICES = {m: (Decimal(p) * PER_MILLION, Decimal(c) * PER_MILLION) for m, p, c, _ in MODELS}
TITLE_MODEL = "openai/gpt-4o-mini"
FIRST = [
    "ada", "alan", "grace", "linus", "ken", "barbara",
    "donald", "edsger", "margaret", "tim", "radia", "john",
]  # fmt: skip
LAST = [
    "lovelace", "turing", "hopper", "torvalds", "thompson",
    "liskov", "knuth", "dijkstra", "hamilton", "lee",
]  # fmt: skip
TOPICS = [
    "Trip to Lisbon",
    "Refactor the billing module",
    "Sourdough starter",
    "Quarterly report",
    "SQL window functions",
    "Wedding speech",
    "Kubernetes ingress",
    "Learning Rust",
    "Birthday party ideas",
    "Cover letter",
    "Tax questions",
    "Garden layout",
    "Fix flaky test",
]
REPLY = "Here is a detailed answer with a few steps, an example and a short summary at the end."


@dataclass
class SeedResult:
    users: int
    conversations: int
    replies: int
    rollup_rows: int


def _next_id(model: type[Model]) -> int:
    return (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _cost(model: str, prompt: int, completion: int) -> Decimal:
    pin, pout = PRICES[model]
    return (prompt * pin + completion * pout).quantize(TEN_PLACES)


def _moment(rng: random.Random, days: int, now: datetime) -> datetime:
    # More activity lately (a growing site), less at weekends, mostly in working hours.
    while True:
        back = int(days * (1 - math.sqrt(rng.random())))
        day = (now - timedelta(days=back)).astimezone(local_zone()).date()
        if day.weekday() < 5 or rng.random() < 0.55:
            break
    hour = min(23.99, max(0.0, rng.gauss(14, 4)))
    start = datetime.combine(day, datetime.min.time(), tzinfo=local_zone())
    return min(start + timedelta(hours=hour), now - timedelta(minutes=1))


def _users(rng: random.Random, count: int) -> list[tuple[int, bool]]:
    first_id = _next_id(User)
    tag = uuid.uuid4().hex[:4]
    users = [
        User(
            pk=first_id + i,
            username=f"{rng.choice(FIRST)}.{rng.choice(LAST)}.{tag}{i}",
            password="!seeded-no-login",
        )
        for i in range(count)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    # (user id, has their own key): most people bring a key, some use the operator's.
    return [(u.pk, rng.random() < 0.7) for u in users]


Writer = Callable[[type[Model], list[str], Iterator[tuple[Any, ...]]], None]


def _copy_writer(model: type[Model], columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    table = model._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _insert_writer(model: type[Model], columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    table = model._meta.db_table
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    by_column = {f.column: f for f in model._meta.concrete_fields}
    fields = [by_column[c] for c in columns]
    with connection.cursor() as cursor:
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(
                [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
            )
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


CONV_COLUMNS = [
    "id",
    "owner_id",
    "title",
    "model",
    "system_prompt",
    "parameters",
    "provider_sort",
    "provider_order",
    "allow_fallbacks",
    "deny_data_collection",
    "web_search",
    "context_strategy",
    "created_at",
    "updated_at",
]
MSG_COLUMNS = [
    "conversation_id", "user_id", "role", "content", "reasoning", "status", "model", "model_used",
    "generation_id", "provider", "finish_reason", "prompt_tokens", "completion_tokens",
    "reasoning_tokens", "cached_tokens", "cost", "paid_by", "time_to_first_token_ms",
    "duration_ms", "error_code", "error_text", "citations", "request_options",
    "context_omitted", "created_at", "updated_at",
]  # fmt: skip


def _plan(
    rng: random.Random, users: list[tuple[int, bool]], replies: int, days: int
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Yield (conversation row, its reply rows) until `replies` priced rows are planned."""
    now = datetime.now(tz=local_zone())
    weights = [1 / (i + 1) ** 0.9 for i in range(len(users))]  # a few heavy users, a long tail
    models = [m for m, *_ in MODELS]
    popularity = [w for *_, w in MODELS]
    conv_id = _next_id(Conversation)
    left = replies
    while left > 0:
        user_id, own_key = rng.choices(users, weights)[0]
        model = rng.choices(models, popularity)[0]
        start = _moment(rng, days, now)
        turns = min(left - 1, max(1, int(rng.expovariate(1 / 11)))) if left > 1 else 0
        paid_by = "user" if own_key else "operator"
        title = f"{rng.choice(TOPICS)} #{conv_id}"
        routing = ("", "[]", True, False, False, "trim")  # the columns' defaults
        conv = (conv_id, user_id, title, model, "", "{}", *routing, start, start)
        rows = [_title_row(conv_id, user_id, paid_by, start)]
        context = rng.randint(40, 400)
        at = start
        for _ in range(turns):
            at = min(at + timedelta(seconds=rng.randint(20, 900)), now)
            completion = rng.randint(30, 1200)
            rows.append(_reply_row(rng, conv_id, user_id, model, paid_by, context, completion, at))
            context += completion + rng.randint(20, 300)
        yield conv, rows
        left -= len(rows)
        conv_id += 1


def _title_row(conv_id: int, user_id: int, paid_by: str, at: datetime) -> tuple[Any, ...]:
    cost = _cost(TITLE_MODEL, 120, 12)
    return (
        conv_id, user_id, "title", "A title", "", "complete", TITLE_MODEL, TITLE_MODEL,
        f"gen-t{conv_id}", "OpenAI", "stop", 120, 12, 0, 0, cost, paid_by, 300, 600, "", "",
        "[]", "{}", 0, at, at,
    )  # fmt: skip


def _reply_row(
    rng: random.Random, conv_id: int, user_id: int, model: str, paid_by: str,
    prompt: int, completion: int, at: datetime,
) -> tuple[Any, ...]:  # fmt: skip
    status = "complete" if rng.random() < 0.97 else rng.choice(["cancelled", "error"])
    cost = _cost(model, prompt, completion)
    return (
        conv_id, user_id, "assistant", REPLY, "", status, model, model,
        f"gen-{uuid.uuid4().hex[:16]}", "Provider", "stop", prompt, completion, 0,
        prompt // 3, cost, paid_by,
        rng.randint(200, 2500), rng.randint(800, 40000), "", "", "[]", "{}", 0, at, at,
    )  # fmt: skip


def usage_seed(*, replies: int, users: int, days: int, seed: int | None = None) -> SeedResult:
    """Insert `users` synthetic people and `replies` priced rows over the last `days` days."""
    rng = random.Random(seed)
    writer: Writer = _copy_writer if connection.vendor == "postgresql" else _insert_writer
    with transaction.atomic():
        people = _users(rng, users)
        convs: list[tuple[Any, ...]] = []
        msgs: list[tuple[Any, ...]] = []
        for conv, rows in _plan(rng, people, replies, days):
            convs.append(conv)
            msgs.extend(rows)
        writer(Conversation, CONV_COLUMNS, iter(convs))
        writer(Message, MSG_COLUMNS, iter(msgs))
        _reset_sequences()
    rollup_rows = usage_rollup_rebuild()
    return SeedResult(len(people), len(convs), len(msgs), rollup_rows)


def _reset_sequences() -> None:
    # Ids were given explicitly; the next ordinary insert must not collide with them.
    sql = connection.ops.sequence_reset_sql(no_style(), [User, Conversation, Message])
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)
