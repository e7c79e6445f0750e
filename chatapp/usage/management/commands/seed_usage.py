from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chatapp.usage.seed import usage_seed


class Command(BaseCommand):
    help = "Fill the database with synthetic users, conversations and priced replies (benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=10000, help="priced replies to create")
        parser.add_argument(
            "--users", type=int, default=None, help="default: one per 2,000 replies, at least 10"
        )
        parser.add_argument("--days", type=int, default=180, help="spread over the last N days")
        parser.add_argument(
            "--seed", type=int, default=None, help="random seed, for repeatable data"
        )

    def handle(
        self,
        *args: Any,
        messages: int,
        users: int | None,
        days: int,
        seed: int | None,
        **options: Any,
    ) -> None:
        users = users or max(10, messages // 2000)
        started = time.monotonic()
        result = usage_seed(replies=messages, users=users, days=days, seed=seed)
        self.stdout.write(
            f"Created {result.users} users, {result.conversations} conversations and "
            f"{result.replies} priced replies; rollup has {result.rollup_rows} rows "
            f"({time.monotonic() - started:.1f} s)."
        )
