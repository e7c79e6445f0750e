from __future__ import annotations

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200)
    system_prompt = models.TextField(blank=True)
    # Sampling parameters sent with every request, e.g. {"temperature": 0.7}.
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-updated_at"], name="conv_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        # The auto-title call: not part of the transcript, but its cost is spend like any other.
        TITLE = "title"

    class Status(models.TextChoices):
        STREAMING = "streaming"
        COMPLETE = "complete"
        CANCELLED = "cancelled"
        ERROR = "error"
        INTERRUPTED = "interrupted"

    class PaidBy(models.TextChoices):
        USER = "user", "User's key"
        OPERATOR = "operator", "Operator key"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Denormalised from the conversation so that spend by user and day needs no join.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    # Chosen by the browser, so that a "send" repeated after a reconnect is a no-op; unique per
    # user (msg_unique_user_client).
    client_id = models.UUIDField(null=True, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETE)
    model = models.CharField("model requested", max_length=200, blank=True)
    model_used = models.CharField(max_length=200, blank=True)
    generation_id = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=200, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    reasoning_tokens = models.PositiveIntegerField(null=True, blank=True)
    cached_tokens = models.PositiveIntegerField(null=True, blank=True)
    # As OpenRouter reports it: 20 places hold every figure it sends (SQLite keeps 15 significant
    # digits of any number; PostgreSQL all of them).
    cost = models.DecimalField(
        "cost (USD)", max_digits=30, decimal_places=20, null=True, blank=True
    )
    paid_by = models.CharField(max_length=8, choices=PaidBy.choices, blank=True)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conv_created"),
            models.Index(fields=["user", "created_at"], name="msg_user_created"),
            models.Index(fields=["model_used", "created_at"], name="msg_model_created"),
            models.Index(
                fields=["status"],
                name="msg_streaming",
                condition=models.Q(status="streaming"),
            ),
        ]
        constraints = [
            # A client_id is used once per person, whichever conversation it names: two server
            # processes handed the same send both try to store it, and the second insert loses
            # (answered as a resend). Its index is also the resend check's one lookup.
            models.UniqueConstraint(
                fields=["user", "client_id"],
                name="msg_unique_user_client",
                condition=models.Q(client_id__isnull=False),
            ),
            # One generation at a time per conversation, held by the database itself so that
            # two server processes racing on two sends cannot both start one.
            models.UniqueConstraint(
                fields=["conversation"],
                name="msg_one_streaming_per_conv",
                condition=models.Q(status="streaming"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"
