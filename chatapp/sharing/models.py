from __future__ import annotations

from django.conf import settings
from django.db import models

from chatapp.chat.models import Conversation, Message


class Share(models.Model):
    """A read-only copy of one branch of a conversation, published under an unguessable link.

    The link's token is never stored in clear: lookups go by its SHA-256 (`token_digest`), and
    `token_sealed` holds it encrypted for its owner (chatapp/accounts/crypto.py) so the share
    dialog can show the link again.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares"
    )
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="share"
    )
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    token_sealed = models.TextField(editable=False)
    title = models.CharField(max_length=200)
    # Shown on the shared page only when the owner ticks "Show my name".
    owner_name = models.CharField(max_length=150, blank=True)
    # The last message of the branch copied; a later reply makes the share out of date.
    leaf_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="share_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Share {self.pk}"


class SharedMessage(models.Model):
    """One message of a share's snapshot: a copy, so later edits never reach the shared page."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="messages")
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Message.Role.choices)
    content = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    # The web sources the reply cited ([{url, title}], http(s) only).
    citations = models.JSONField(default=list, blank=True)
    # What was attached ([{name, kind, size, pages}]): named on the shared page, never served
    # (files are their owner's only).
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["share", "position"], name="shared_msg_position")
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.position} of share {self.share_id}"


class ImportJob(models.Model):
    """One uploaded file being imported in the background; the Account page polls it."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs"
    )
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_read = models.PositiveBigIntegerField(default=0)
    conversations_imported = models.PositiveIntegerField(default=0)
    messages_imported = models.PositiveIntegerField(default=0)
    # Sentences, one per conversation or message kind left out, for the summary.
    skipped = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="import_owner_recent")]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename})"
