from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

# Message.cost has 10 decimal places; the rollup counts in that unit, as integers, so that
# sums are exact on every database (SQLite sums decimals as floats).
COST_SCALE = 10


class BudgetSettings(models.Model):
    """The site-wide budget an admin edits; one row (pk=1)."""

    default_operator_monthly_budget = models.DecimalField(
        "default monthly budget on the operator key (USD)",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=(
            "Applies to every user without a budget of their own. "
            "Empty: CHATAPP_DEFAULT_MONTHLY_BUDGET from the environment applies."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "budget settings"
        verbose_name_plural = "budget settings"

    def __str__(self) -> str:
        return "Budget settings"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # a singleton: every save writes the one row
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class UsageDaily(models.Model):
    """Spend per local day, user, conversation, model and payer: a cache of Message rows.

    Rebuilt per (user, day) from the rows themselves, never incremented, so it cannot drift
    from the sum of the stored costs (see chatapp/usage/rollup.py).
    """

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    model = models.CharField(max_length=200, blank=True)
    paid_by = models.CharField(max_length=8, blank=True)
    cost_units = models.BigIntegerField(default=0, help_text="Cost in units of 10⁻¹⁰ USD.")
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "conversation", "model", "paid_by"],
                name="usage_daily_unique",
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="usage_daily_day"),
            models.Index(fields=["model", "day"], name="usage_daily_model_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id} {self.model}"

    @property
    def cost(self) -> Decimal:
        return Decimal(self.cost_units).scaleb(-COST_SCALE)
