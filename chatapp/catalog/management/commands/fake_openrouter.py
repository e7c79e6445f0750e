"""`python manage.py fake_openrouter --port 8001`: run the stand-in OpenRouter on loopback."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chatapp.openrouter.fake.cli import add_arguments, config_from, run


class Command(BaseCommand):
    help = (
        "Run a stand-in for OpenRouter (streaming chat, models, keys, PKCE) on loopback. "
        "Point OPENROUTER_BASE_URL at http://127.0.0.1:<port>/api/v1 and OPENROUTER_AUTH_URL "
        "at http://127.0.0.1:<port>/auth. See docs/fake-openrouter.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(options["host"], options["port"], config_from(options))
