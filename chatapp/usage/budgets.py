"""Monthly budgets, checked before every generation (chat asks through chat.hooks.reply_payable).

Two budgets, each on one payer's spend in the current calendar month (operator's time zone):
- "operator": what an admin allows a user to spend on the operator key — the user's own
  budget, else the site default (BudgetSettings, else CHATAPP_DEFAULT_MONTHLY_BUDGET);
- "user": the cap a user sets on their own key's spend in this app.
A reply already running is never cut off: the check happens before a call, so the reply in
flight finishes and is charged, and the next one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from chatapp.accounts.models import User
from chatapp.chat.models import Message
from chatapp.core.periods import local_today, month_bounds, month_start, next_month_start
from chatapp.usage.models import BudgetSettings, DeletedSpend
from chatapp.usage.money import (
    cost_sums,
    exact_cost_sum,
    summed_units,
    units_to_usd,
    usd_short,
)

PAYERS = (Message.PaidBy.USER, Message.PaidBy.OPERATOR)


@dataclass(frozen=True)
class BudgetRefusal:
    message: str
    budget: Decimal
    spent: Decimal
    resets_on: date


@dataclass(frozen=True)
class BudgetStatus:
    """One budget of one user this month, for "My usage"."""

    paid_by: str
    budget: Decimal
    spent: Decimal
    resets_on: date
    deleted: Decimal = Decimal(0)  # the part of `spent` in conversations since deleted

    @property
    def exceeded(self) -> bool:
        return self.spent >= self.budget

    @property
    def percent(self) -> int:
        if not self.budget:
            return 100
        return min(100, int(self.spent * 100 / self.budget))


def _env_default() -> Decimal | None:
    return settings.CHATAPP_DEFAULT_MONTHLY_BUDGET


def site_default_budget() -> Decimal | None:
    row = BudgetSettings.objects.filter(pk=1).first()
    if row and row.default_operator_monthly_budget is not None:
        return row.default_operator_monthly_budget
    return _env_default()


def _check_payer(paid_by: str) -> None:
    if paid_by not in PAYERS:
        raise ValueError(f"paid_by must be 'user' or 'operator', not {paid_by!r}")


def _month_spend_rows(user: User, paid_by: str) -> QuerySet[Message]:
    start, end = month_bounds(local_today())
    return Message.objects.filter(
        user=user, paid_by=paid_by, created_at__gte=start, created_at__lt=end
    )


def _deleted_spend_rows(user: User, paid_by: str) -> QuerySet[DeletedSpend]:
    today = local_today()
    return DeletedSpend.objects.filter(
        user_id=user.pk, paid_by=paid_by, day__gte=month_start(today), day__lte=today
    )


def _resets_on() -> date:
    return next_month_start(local_today())


def _refusal(status: BudgetStatus) -> BudgetRefusal | None:
    if not status.exceeded:
        return None
    resets = f"{status.resets_on.day} {status.resets_on:%B %Y}"
    budget, spent = usd_short(status.budget), usd_short(status.spent)
    if status.paid_by == Message.PaidBy.OPERATOR:
        text = (
            f"You have used {spent} of your {budget} monthly budget on this site's "
            f"OpenRouter key, so this reply was not sent. The budget resets on {resets}. "
            "Connect your own OpenRouter key on the account page to keep chatting, "
            "or ask an administrator to raise your budget."
        )
    else:
        text = (
            f"You have reached the {budget} monthly cap you set on your own OpenRouter "
            f"key ({spent} used this month), so this reply was not sent. The cap resets "
            f"on {resets}; raise or remove it on your account page to keep chatting."
        )
    return BudgetRefusal(
        message=text, budget=status.budget, spent=status.spent, resets_on=status.resets_on
    )


def budget_status(*, user: User, paid_by: str) -> BudgetStatus | None:
    """Return the user's budget for this payer and this month's spend, or None if uncapped."""
    _check_payer(paid_by)
    if paid_by == Message.PaidBy.OPERATOR:
        budget = user.operator_monthly_budget
        if budget is None:
            budget = site_default_budget()
    else:
        budget = user.own_key_monthly_cap
    if budget is None:
        return None
    spent = exact_cost_sum(_month_spend_rows(user, paid_by))
    deleted = units_to_usd(
        summed_units(_deleted_spend_rows(user, paid_by).aggregate(**cost_sums()))
    )
    return _status(paid_by, budget, spent, deleted)


def _status(paid_by: str, budget: Decimal, spent: Decimal, deleted: Decimal) -> BudgetStatus:
    # Spend of deleted conversations still counts: deleting history must not reset a budget.
    return BudgetStatus(
        paid_by=paid_by,
        budget=budget,
        spent=spent + deleted,
        resets_on=_resets_on(),
        deleted=deleted,
    )


def budget_check(*, user: User, paid_by: str) -> BudgetRefusal | None:
    """Return a refusal if this month's spend has reached the budget for `paid_by`, else None."""
    status = budget_status(user=user, paid_by=paid_by)
    return _refusal(status) if status else None
