from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatapp.usage.rollup import usage_rollup_drift, usage_rollup_rebuild


class Command(BaseCommand):
    help = (
        "Check the daily usage rollup against the message rows (--check), or rebuild it "
        "(--rebuild; needed after changing CHATAPP_TIME_ZONE or bulk-loading messages)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--check", action="store_true")
        group.add_argument("--rebuild", action="store_true")

    def handle(self, *args: Any, check: bool, rebuild: bool, **options: Any) -> None:
        if rebuild:
            self.stdout.write(f"Rebuilt the rollup: {usage_rollup_rebuild()} rows.")
            return
        drift = usage_rollup_drift()
        for line in drift[:50]:
            self.stdout.write(line)
        if drift:
            raise CommandError(
                f"{len(drift)} user-days differ from the message rows; "
                "run `manage.py usage_rollup --rebuild`."
            )
        self.stdout.write("The rollup equals the sum of the message rows.")
