from __future__ import annotations

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "chatapp.usage"

    def ready(self) -> None:
        from chatapp.usage import signals  # noqa: F401 - connects the rollup receivers
