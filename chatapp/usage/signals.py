"""Keep the rollups in step with every save that changes spend, and with deletions; refuse a
reply whose budget is spent (chat asks through `chat.hooks.reply_payable`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from chatapp.accounts.models import User
from chatapp.chat.hooks import reply_payable, spend_written
from chatapp.chat.models import Conversation, Message
from chatapp.core.periods import local_day
from chatapp.usage.budgets import budget_check
from chatapp.usage.models import DeletedSpend
from chatapp.usage.rollup import COUNTED_FIELDS, usage_day_refresh, usage_forget_conversation


def _counts(update_fields: Any) -> bool:
    # Checkpoints of the streaming text (update_fields=["content", ...]) change no figure.
    return update_fields is None or bool(COUNTED_FIELDS & set(update_fields))


@receiver(pre_save, sender=Message, dispatch_uid="usage_remember_bucket")
def _remember_bucket(sender: type[Message], instance: Message, **kwargs: Any) -> None:
    # A save that moves a reply to another user, day or conversation must empty its old bucket.
    if instance.pk is None or not _counts(kwargs.get("update_fields")):
        return
    old = (
        Message.objects.filter(pk=instance.pk)
        .values_list("user_id", "created_at", "conversation_id")
        .first()
    )
    instance._usage_old = old  # type: ignore[attr-defined]


@receiver(post_save, sender=Message, dispatch_uid="usage_refresh_bucket")
def _refresh_bucket(sender: type[Message], instance: Message, **kwargs: Any) -> None:
    if kwargs.get("raw") or not _counts(kwargs.get("update_fields")):
        return
    old = getattr(instance, "_usage_old", None)
    if instance.role == Message.Role.USER and not old:
        return
    conversations = {instance.conversation_id}
    if old:
        conversations.add(old[2])
        if (old[0], local_day(old[1])) != (instance.user_id, local_day(instance.created_at)):
            usage_day_refresh(user_id=old[0], day=local_day(old[1]))
    usage_day_refresh(
        user_id=instance.user_id,
        day=local_day(instance.created_at),
        conversation_ids=conversations,
    )


@receiver(pre_delete, sender=Conversation, dispatch_uid="usage_remember_conversation")
def _remember_conversation(
    sender: type[Conversation], instance: Conversation, **kwargs: Any
) -> None:
    # Deleting a conversation must not give back budget: its spend is kept as DeletedSpend.
    buckets = usage_forget_conversation(conversation_id=instance.pk)
    instance._usage_buckets = buckets  # type: ignore[attr-defined]


@receiver(post_delete, sender=Conversation, dispatch_uid="usage_forget_conversation")
def _forget_conversation(sender: type[Conversation], instance: Conversation, **kwargs: Any) -> None:
    # Its messages are gone: the days it counted in must no longer count them.
    for user_id, day in sorted(getattr(instance, "_usage_buckets", ())):
        usage_day_refresh(user_id=user_id, day=day)


@receiver(post_delete, sender=User, dispatch_uid="usage_forget_user")
def _forget_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    DeletedSpend.objects.filter(user_id=instance.pk).delete()


@receiver(reply_payable, dispatch_uid="usage_budget_check")
def _budget_refusal(sender: Any, *, user: User, paid_by: str, **kwargs: Any) -> str | None:
    refusal = budget_check(user=user, paid_by=paid_by)
    return refusal.message if refusal is not None else None


@receiver(spend_written, dispatch_uid="usage_spend_written")
def _spend_written(
    sender: Any, *, user_id: int, day: date, conversation_ids: set[int], **kwargs: Any
) -> None:
    usage_day_refresh(user_id=user_id, day=day, conversation_ids=conversation_ids)
