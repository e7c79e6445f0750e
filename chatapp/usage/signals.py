"""Keep the daily rollup in step with every Message save that changes spend."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from chatapp.chat.models import Message
from chatapp.usage.periods import local_day
from chatapp.usage.rollup import COUNTED_FIELDS, usage_day_refresh


def _counts(update_fields: Any) -> bool:
    # Checkpoints of the streaming text (update_fields=["content", ...]) change no figure.
    return update_fields is None or bool(COUNTED_FIELDS & set(update_fields))


@receiver(pre_save, sender=Message, dispatch_uid="usage_remember_bucket")
def _remember_bucket(sender: type[Message], instance: Message, **kwargs: Any) -> None:
    # A save that moves a reply to another user or day must also empty its old bucket.
    if instance.pk is None or not _counts(kwargs.get("update_fields")):
        return
    old = Message.objects.filter(pk=instance.pk).values_list("user_id", "created_at").first()
    instance._usage_old_bucket = (old[0], local_day(old[1])) if old else None  # type: ignore[attr-defined]


@receiver(post_save, sender=Message, dispatch_uid="usage_refresh_bucket")
def _refresh_bucket(sender: type[Message], instance: Message, **kwargs: Any) -> None:
    if kwargs.get("raw") or not _counts(kwargs.get("update_fields")):
        return
    buckets = {(instance.user_id, local_day(instance.created_at))}
    old = getattr(instance, "_usage_old_bucket", None)
    if old:
        buckets.add(old)
    if instance.role == Message.Role.USER and not old:
        return
    for user_id, day in buckets:
        usage_day_refresh(user_id=user_id, day=day)
