"""A deleted attachment takes its stored files with it, once the deletion has committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from chatapp.attachments.models import Attachment, attachment_storage


@receiver(post_delete, sender=Attachment)
def attachment_files_delete(sender: type[Attachment], instance: Attachment, **kwargs: Any) -> None:
    names = [f.name for f in (instance.file, instance.thumbnail) if f and f.name]

    def remove() -> None:
        storage = attachment_storage()
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove)
