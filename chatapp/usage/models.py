from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from chatapp.core.singleton import SingletonModel
from chatapp.usage.money import joined_units, units_to_usd


class CostColumns(models.Model):
    """A cost in two integers, exact when summed on any database (see usage/money.py)."""

    cost_units = models.BigIntegerField(default=0, help_text="Cost in units of 10⁻¹⁰ USD.")
    cost_subunits = models.BigIntegerField(
        default=0, help_text="The rest of the cost below one unit, in 10⁻²⁰ USD."
    )

    class Meta:
        abstract = True

    @property
    def cost(self) -> Decimal:
        return units_to_usd(joined_units(self.cost_units, self.cost_subunits))


class SavedColumns(models.Model):
    """What cached prompt tokens saved, in the same two integers as the cost."""

    saved_units = models.BigIntegerField(default=0, help_text="Cache savings in 10⁻¹⁰ USD.")
    saved_subunits = models.BigIntegerField(default=0, help_text="The rest, in 10⁻²⁰ USD.")

    class Meta:
        abstract = True

    @property
    def saved(self) -> Decimal:
        return units_to_usd(joined_units(self.saved_units, self.saved_subunits))


class BudgetSettings(SingletonModel):
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


class UsageDaily(CostColumns, SavedColumns):
    """Spend per local day, user, model and payer: a cache of Message rows.

    Rebuilt per (user, day) from the rows themselves, never incremented, so it cannot drift
    from the sum of the stored costs (see chatapp/usage/rollup.py).
    """

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=200, blank=True)
    paid_by = models.CharField(max_length=8, blank=True)
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "model", "paid_by"], name="usage_daily_unique"
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="usage_daily_day"),
            models.Index(fields=["model", "day"], name="usage_daily_model_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id} {self.model}"


class UserUsageDaily(CostColumns, SavedColumns):
    """UsageDaily summed over models and payers: the users table without a model filter."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "daily usage per user"
        verbose_name_plural = "daily usage per user"
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="usage_user_day_unique")
        ]
        indexes = [models.Index(fields=["day"], name="usage_user_day_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id}"


class SiteUsageDaily(CostColumns, SavedColumns):
    """UsageDaily summed over users: totals, the chart and models for the whole site."""

    day = models.DateField()
    model = models.CharField(max_length=200, blank=True)
    paid_by = models.CharField(max_length=8, blank=True)
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "daily usage of the site"
        verbose_name_plural = "daily usage of the site"
        constraints = [
            models.UniqueConstraint(fields=["day", "model", "paid_by"], name="usage_site_unique")
        ]
        indexes = [models.Index(fields=["model", "day"], name="usage_site_model_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.model} {self.paid_by}"


class ConversationTotals(CostColumns):
    """A conversation's whole spend and the local days it spans (see rollup.py)."""

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    first_day = models.DateField()
    last_day = models.DateField()

    class Meta:
        abstract = True


class ConversationUsage(ConversationTotals):
    class Meta:
        verbose_name = "conversation usage"
        verbose_name_plural = "conversation usage"
        constraints = [models.UniqueConstraint(fields=["conversation"], name="usage_conv_unique")]
        indexes = [
            models.Index(fields=["-cost_units"], name="usage_conv_cost"),
            models.Index(fields=["user", "-cost_units"], name="usage_conv_user_cost"),
            models.Index(fields=["first_day"], name="usage_conv_first"),
            models.Index(fields=["last_day"], name="usage_conv_last"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id}"


class ConversationModelUsage(ConversationTotals):
    """The same per model, for the dashboard's model filter."""

    model = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "conversation usage by model"
        verbose_name_plural = "conversation usage by model"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "model"], name="usage_conv_model_unique"
            )
        ]
        indexes = [
            models.Index(fields=["model", "-cost_units"], name="usage_convm_model_cost"),
            models.Index(fields=["first_day"], name="usage_convm_first"),
            models.Index(fields=["last_day"], name="usage_convm_last"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} on {self.model}"


class DeletedSpend(CostColumns):
    """Spend of conversations that were deleted: money spent all the same.

    Budgets count it, so deleting conversations does not reset a budget; the dashboard shows it
    beside its figures (which are sums of the stored replies). A plain user id, not a foreign
    key: rows are written while a user's own deletion may be cascading to their conversations.
    """

    user_id = models.BigIntegerField()
    day = models.DateField()
    model = models.CharField(max_length=200, blank=True)
    paid_by = models.CharField(max_length=8, blank=True)
    replies = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "spend of deleted conversations"
        verbose_name_plural = "spend of deleted conversations"
        indexes = [
            models.Index(fields=["user_id", "paid_by", "day"], name="usage_deleted_user"),
            models.Index(fields=["day"], name="usage_deleted_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id} {self.model}"
