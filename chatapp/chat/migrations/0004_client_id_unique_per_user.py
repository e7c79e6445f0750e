"""A client_id is unique per user, not only per conversation (issue 12: two processes handed the
same send into a new chat each stored it and each called OpenRouter)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def forget_repeated_client_ids(apps: Any, schema_editor: Any) -> None:
    """Keep each (user, client_id) on its first message: a later repeat of it (only that race
    could store one) keeps its text and cost, and loses only its resend check."""
    Message = apps.get_model("chat", "Message")
    repeated = (
        Message.objects.filter(client_id__isnull=False)
        .values("user_id", "client_id")
        .annotate(first=models.Min("pk"), rows=models.Count("pk"))
        .filter(rows__gt=1)
    )
    for group in repeated:
        Message.objects.filter(user_id=group["user_id"], client_id=group["client_id"]).exclude(
            pk=group["first"]
        ).update(client_id=None)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_message_user_client_index"),
    ]

    operations = [
        migrations.RunPython(forget_repeated_client_ids, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="message", name="msg_unique_client_id"),
        migrations.RemoveIndex(model_name="message", name="msg_user_client"),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=models.Q(("client_id__isnull", False)),
                fields=("user", "client_id"),
                name="msg_unique_user_client",
            ),
        ),
    ]
