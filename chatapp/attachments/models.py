from __future__ import annotations

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models


def attachment_storage() -> Storage:
    """STORAGES["attachments"]: local files under CHATAPP_MEDIA_ROOT, or an S3 bucket."""
    return storages["attachments"]


class Attachment(models.Model):
    """A file a person attached to a message: checked, re-encoded where it is an image, and
    stored under a random name (never the one it came with). Until it is sent it belongs to no
    conversation; once sent, to the conversation, and to every message that carries it (an edit
    keeps the files of the message it replaces)."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        PDF = "pdf", "PDF"
        AUDIO = "audio"
        TEXT = "text"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    conversation = models.ForeignKey(
        "chat.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    messages = models.ManyToManyField("chat.Message", related_name="attachments", blank=True)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(help_text="Bytes stored (after re-encoding).")
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField("duration (s)", null=True, blank=True)
    file = models.FileField(storage=attachment_storage, max_length=300)
    thumbnail = models.FileField(storage=attachment_storage, max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="attachment_unsent",
                condition=models.Q(conversation__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name
