"""Signing out, or losing access, closes the person's open sockets, in every server process.

A websocket is authenticated once, when it opens; without this, a socket opened before a log-out
(or before an admin deactivated the account) would go on streaming replies on the user's key.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from chatapp.chat.fanout import publish_from_sync
from chatapp.chat.groups import session_tag, user_group
from chatapp.chat.protocol import session_ended

User = get_user_model()


def sessions_end(user_id: int, session: Any = None) -> None:
    """Close the user's sockets: those of `session`, or all of them."""
    publish_from_sync(user_group(user_id), session_ended(session_tag(session) if session else None))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and request is not None:
        sessions_end(user.pk, getattr(request, "session", None))


@receiver(pre_save, sender=User)
def _remember_access(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None or (
        update_fields and not {"is_active", "is_staff"} & set(update_fields)
    ):
        return
    instance._access_before = (
        User.objects.filter(pk=instance.pk).values_list("is_active", "is_staff").first()
    )


@receiver(post_save, sender=User)
def _access_changed(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_access_before", None)
    if created or before is None:
        return
    was_active, was_staff = before
    if (was_active and not instance.is_active) or (was_staff and not instance.is_staff):
        sessions_end(instance.pk)
