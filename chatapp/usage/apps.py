from __future__ import annotations

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "chatapp.usage"

    def ready(self) -> None:
        # Inside ready(): signals imports models, which Django loads only after every app's
        # config; importing it at the top of this module would load them too early.
        from chatapp.usage import signals  # noqa: F401, PLC0415 - connects the receivers
