"""`python manage.py sync_models`: fetch OpenRouter's catalogue and store it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chatapp.catalog.services import catalog_sync


class Command(BaseCommand):
    help = (
        "Fetch GET /models from OpenRouter (OPENROUTER_BASE_URL) and upsert every model; "
        "models no longer listed are marked inactive, never deleted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sync = catalog_sync()
        if not sync.ok:
            raise CommandError(
                f"Could not sync the catalogue from {settings.OPENROUTER_BASE_URL}: {sync.error} "
                "The stored catalogue was left unchanged."
            )
        self.stdout.write(
            f"Synced {sync.models_seen} models: {sync.models_created} new, "
            f"{sync.models_updated} changed, {sync.models_deactivated} marked inactive."
        )
