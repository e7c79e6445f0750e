from __future__ import annotations

from django.conf import settings
from django.db import models

from chatapp.core.singleton import SingletonModel


class ProviderSort(models.TextChoices):
    DEFAULT = "", "Default"
    PRICE = "price", "Price"
    THROUGHPUT = "throughput", "Throughput"
    LATENCY = "latency", "Latency"


class ContextStrategy(models.TextChoices):
    TRIM = "trim", "Leave out the oldest messages"
    MIDDLE_OUT = "middle-out", "Let OpenRouter compress the middle (middle-out)"


class PdfEngine(models.TextChoices):
    """How OpenRouter's file-parser plugin reads an attached PDF (`pdf.engine` in the docs)."""

    DEFAULT = "", "Let OpenRouter choose"
    PDF_TEXT = "pdf-text", "Its text only (free)"
    MISTRAL_OCR = "mistral-ocr", "OCR, for scans and images (paid per page)"
    NATIVE = "native", "The model itself (models that read files)"


class RoutingDefaults(SingletonModel):
    """What a new conversation starts with (an admin edits it; one row, pk=1).

    Each conversation keeps its own copy, changed in its settings panel: changing the
    defaults affects conversations created afterwards.
    """

    provider_sort = models.CharField(
        "sort providers by", max_length=12, choices=ProviderSort.choices, blank=True
    )
    allow_fallbacks = models.BooleanField(
        default=True, help_text="Let OpenRouter try other providers when the first one fails."
    )
    deny_data_collection = models.BooleanField(
        "only providers that don't store data",
        default=False,
        help_text='Sent as data_collection: "deny".',
    )
    context_strategy = models.CharField(
        "when a conversation outgrows the model's context",
        max_length=12,
        choices=ContextStrategy.choices,
        default=ContextStrategy.TRIM,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "routing defaults"
        verbose_name_plural = "routing defaults"

    def __str__(self) -> str:
        return "Routing defaults"


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200)
    system_prompt = models.TextField(blank=True)
    # Sampling parameters sent with every request, e.g. {"temperature": 0.7}.
    parameters = models.JSONField(default=dict, blank=True)
    # Provider routing (OpenRouter's `provider` object); new conversations copy RoutingDefaults.
    provider_sort = models.CharField(max_length=12, choices=ProviderSort.choices, blank=True)
    provider_order = models.JSONField(default=list, blank=True)
    allow_fallbacks = models.BooleanField(default=True)
    deny_data_collection = models.BooleanField(default=False)
    web_search = models.BooleanField(default=False)
    context_strategy = models.CharField(
        max_length=12, choices=ContextStrategy.choices, default=ContextStrategy.TRIM
    )
    # Sent as the file-parser plugin's pdf.engine with requests that carry a PDF; "" sends none
    # (OpenRouter then lets a model that reads files read it, and parses it for the others).
    # db_default too: raw inserts that predate the field (usage/seed.py) leave it out.
    pdf_engine = models.CharField(
        max_length=12, choices=PdfEngine.choices, blank=True, default="", db_default=""
    )
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
    # What reading cached prompt tokens saved against the full prompt price (USD).
    cache_savings = models.DecimalField(
        "cache savings (USD)", max_digits=30, decimal_places=20, null=True, blank=True
    )
    # The web search's sources ([{url, title}], http(s) only), in the order they were cited.
    citations = models.JSONField(default=list, blank=True)
    # What OpenRouter's file parser made of the PDFs this reply was asked about (its `file`
    # annotations, as they came): sent back with the reply, so later requests do not parse them
    # again. db_default too: raw inserts that predate the field (usage/seed.py) leave it out.
    file_annotations = models.JSONField(default=list, blank=True, db_default=[])
    # How the request was sent: provider routing, web search, transforms, and the prices the
    # cache savings are worked out with (see chat/requests.py).
    request_options = models.JSONField(default=dict, blank=True)
    # Older messages of the branch left out to fit the model's context window.
    context_omitted = models.PositiveIntegerField(default=0)
    paid_by = models.CharField(max_length=8, choices=PaidBy.choices, blank=True)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_text = models.TextField(blank=True)
    # Brought in from another app's export (chatapp/sharing/imports): never generated here, so
    # it has no cost and its created_at is the original one.
    # db_default too: raw inserts that predate the field (usage/seed.py) leave it out.
    imported = models.BooleanField(default=False, db_default=False)
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
