from __future__ import annotations

from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "chatapp.attachments"
    verbose_name = "Attachments"

    def ready(self) -> None:
        from chatapp.attachments import signals  # noqa: F401, PLC0415  (connects the receivers)
