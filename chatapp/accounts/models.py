from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    class OperatorKeyAccess(models.TextChoices):
        DEFAULT = "", "Site default (CHATAPP_OPERATOR_KEY_POLICY)"
        ALLOW = "allow", "Allowed"
        DENY = "deny", "Denied"

    # Sent to OpenRouter as `user`: stable per person, and says nothing about who they are.
    openrouter_user_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    operator_key_access = models.CharField(
        max_length=8, choices=OperatorKeyAccess.choices, default="", blank=True
    )
    operator_monthly_budget = models.DecimalField(
        "monthly budget on the operator key (USD)",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Empty: the site-wide default applies.",
    )
    own_key_monthly_cap = models.DecimalField(
        "monthly cap on the user's own key (USD)",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Set by the user; empty means no cap.",
    )
    favorite_models = models.JSONField(default=list, blank=True)
    last_model = models.CharField(max_length=200, blank=True)


class OpenRouterKey(models.Model):
    class Source(models.TextChoices):
        PKCE = "pkce", "Connected with OpenRouter"
        PASTED = "pasted", "Pasted by hand"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="openrouter_key")
    # Fernet token of the key, bound to the owner's id; never the key in clear.
    ciphertext = models.TextField()
    hint = models.CharField(max_length=40)
    source = models.CharField(max_length=8, choices=Source.choices)
    is_valid = models.BooleanField(default=True)
    # Dollars as GET /key reports them, every digit (the same 20 places as Message.cost).
    limit = models.DecimalField(max_digits=30, decimal_places=20, null=True, blank=True)
    usage = models.DecimalField(max_digits=30, decimal_places=20, null=True, blank=True)
    limit_remaining = models.DecimalField(max_digits=30, decimal_places=20, null=True, blank=True)
    is_free_tier = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "OpenRouter key"

    def __str__(self) -> str:
        return f"{self.masked} ({self.user})"

    @property
    def masked(self) -> str:
        """The key as pages show it, e.g. sk-or-v1-…ab12.

        The stored hint is only "…ab12": leaving the prefix out means a database dump
        holds no "sk-or-v1-" anywhere.
        """
        return f"sk-or-v1-{self.hint}"


class PkceFlow(models.Model):
    """A started "Connect OpenRouter" flow, waiting for its callback.

    The code verifier stays in the user's session; this row is the one-shot token. The
    callback claims it with a conditional DELETE, and only the request whose DELETE removed
    the row may exchange the code: a replayed or concurrent callback finds nothing to delete.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the state: the row alone cannot be turned into a valid callback.
    state_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "pending OpenRouter connection"

    def __str__(self) -> str:
        return f"PKCE flow of user {self.user_id} until {self.expires_at:%H:%M}"
