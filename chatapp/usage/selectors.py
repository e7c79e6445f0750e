"""Reads for the cost dashboard and "My usage", all from the exact daily rollup.

Every dollar figure is a sum of integer cost units (10⁻¹⁰ USD), so it equals the sum of the
stored Message.cost values to the last digit on every database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from chatapp.chat.models import Message
from chatapp.usage.models import UsageDaily
from chatapp.usage.money import ZERO, units_to_usd
from chatapp.usage.periods import day_bounds, local_today

OTHER = "Other"
TABLE_LIMIT = 100


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    user_id: int | None = None
    model: str | None = None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Totals:
    spend: Decimal
    replies: int
    tokens: int

    @property
    def avg_per_reply(self) -> Decimal:
        return self.spend / self.replies if self.replies else ZERO


@dataclass(frozen=True)
class Row:
    """One line of a table: a user, a model or a conversation."""

    key: Any
    label: str
    spend: Decimal
    replies: int
    tokens: int
    last_at: datetime | None = None
    share: Decimal | None = None
    owner: str = ""

    @property
    def avg_per_reply(self) -> Decimal:
        return self.spend / self.replies if self.replies else ZERO


def _rows(*, user_id: int | None = None, model: str | None = None) -> QuerySet[UsageDaily]:
    qs = UsageDaily.objects.all()
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if model:
        qs = qs.filter(model=model)
    return qs


def _in_range(f: Filters) -> QuerySet[UsageDaily]:
    return _rows(user_id=f.user_id, model=f.model).filter(day__gte=f.start, day__lte=f.end)


def _sums() -> dict[str, Any]:
    return {
        "units": Coalesce(Sum("cost_units"), 0),
        "n": Coalesce(Sum("replies"), 0),
        "tok": Coalesce(Sum("tokens"), 0),
    }


def _totals(values: dict[str, Any], prefix: str = "") -> Totals:
    return Totals(
        spend=units_to_usd(values[f"{prefix}units"]),
        replies=int(values[f"{prefix}n"]),
        tokens=int(values[f"{prefix}tok"]),
    )


def usage_cards(f: Filters) -> dict[str, Totals]:
    """Return totals for today, the last 7 and 30 days and the chosen range, in one query."""
    today = local_today()
    periods = {
        "today": (today, today),
        "week": (today - timedelta(days=6), today),
        "month": (today - timedelta(days=29), today),
        "range": (f.start, f.end),
    }
    aggregates: dict[str, Any] = {}
    for name, (lo, hi) in periods.items():
        where = Q(day__gte=lo, day__lte=hi)
        aggregates[f"{name}_units"] = Coalesce(Sum("cost_units", filter=where), 0)
        aggregates[f"{name}_n"] = Coalesce(Sum("replies", filter=where), 0)
        aggregates[f"{name}_tok"] = Coalesce(Sum("tokens", filter=where), 0)
    lowest = min(lo for lo, _ in periods.values())
    highest = max(hi for _, hi in periods.values())
    qs = _rows(user_id=f.user_id, model=f.model).filter(day__gte=lowest, day__lte=highest)
    values = qs.aggregate(**aggregates)
    return {name: _totals(values, f"{name}_") for name in periods}


def usage_by_model(f: Filters, *, limit: int | None = None) -> list[Row]:
    grouped = _in_range(f).values("model").annotate(**_sums()).order_by("-units", "model")
    raw = list(grouped)
    total = units_to_usd(sum(r["units"] for r in raw))
    rows = [
        Row(
            key=r["model"],
            label=r["model"] or "(unknown model)",
            spend=units_to_usd(r["units"]),
            replies=r["n"],
            tokens=r["tok"],
            share=units_to_usd(r["units"]) / total if total else ZERO,
        )
        for r in raw
    ]
    return rows[:limit] if limit else rows


def usage_by_user(f: Filters, *, limit: int = TABLE_LIMIT) -> tuple[list[Row], int]:
    """Return the top spenders (most first) and how many users spent in the range."""
    grouped = (
        _in_range(f)
        .values("user_id", "user__username")
        .annotate(**_sums(), last=Max("last_at"))
        .order_by("-units", "user__username")
    )
    rows = [
        Row(
            key=r["user_id"],
            label=r["user__username"],
            spend=units_to_usd(r["units"]),
            replies=r["n"],
            tokens=r["tok"],
            last_at=r["last"],
        )
        for r in grouped[:limit]
    ]
    count = _in_range(f).aggregate(n=Count("user_id", distinct=True))["n"]
    return rows, count


def usage_top_conversations(f: Filters, *, limit: int = 20) -> list[Row]:
    grouped = (
        _in_range(f)
        .values("conversation_id", "conversation__title", "user__username")
        .annotate(**_sums())
        .order_by("-units", "conversation_id")
    )
    return [
        Row(
            key=r["conversation_id"],
            label=r["conversation__title"] or f"Conversation {r['conversation_id']}",
            owner=r["user__username"],
            spend=units_to_usd(r["units"]),
            replies=r["n"],
            tokens=r["tok"],
        )
        for r in grouped[:limit]
    ]


def usage_daily(
    f: Filters, *, by: str, top: int = 6
) -> tuple[list[str], dict[date, dict[str, Decimal]]]:
    """Return the series names and spend per day per series; every day of the range is present.

    by="model": the `top` models by spend in the range, the rest summed as "Other";
    by="payer": user key vs operator key.
    """
    field = "paid_by" if by == "payer" else "model"
    grouped = _in_range(f).values("day", field).annotate(units=Sum("cost_units")).order_by()
    per_day: dict[date, dict[str, int]] = {day: {} for day in f.days}
    totals: dict[str, int] = {}
    for r in grouped:
        name = _series_name(r[field], by)
        per_day[r["day"]][name] = per_day[r["day"]].get(name, 0) + r["units"]
        totals[name] = totals.get(name, 0) + r["units"]
    names = sorted(totals, key=lambda n: (-totals[n], n))
    if by == "model" and len(names) > top:
        kept = set(names[:top])
        names = [*names[:top], OTHER]
        for day, series in per_day.items():
            rest = sum(v for k, v in series.items() if k not in kept)
            per_day[day] = {k: v for k, v in series.items() if k in kept}
            if rest:
                per_day[day][OTHER] = rest
    usd = {day: {k: units_to_usd(v) for k, v in s.items()} for day, s in per_day.items()}
    return names, usd


def _series_name(value: str, by: str) -> str:
    if by == "payer":
        return str(dict(Message.PaidBy.choices).get(value, "Unknown payer"))
    return value or "(unknown model)"


def usage_model_names(f: Filters) -> list[str]:
    qs = _rows(user_id=f.user_id).filter(day__gte=f.start, day__lte=f.end)
    return list(qs.values_list("model", flat=True).distinct().order_by("model"))


def usage_user_replies(f: Filters, *, user_id: int) -> QuerySet[Message]:
    """Return one user's priced rows (replies and title calls) in the range, newest first."""
    start, _ = day_bounds(f.start)
    _, end = day_bounds(f.end)
    qs = Message.objects.filter(user_id=user_id, created_at__gte=start, created_at__lt=end)
    qs = qs.exclude(role=Message.Role.USER)
    if f.model:
        qs = qs.filter(model_used=f.model)
    return qs.select_related("conversation").order_by("-created_at", "-id")


def usage_month_by_model(*, user_id: int) -> tuple[Totals, list[Row]]:
    """Return a user's spend this calendar month, in total and per model."""
    today = local_today()
    f = Filters(start=today.replace(day=1), end=today, user_id=user_id)
    rows = usage_by_model(f)
    total = Totals(
        spend=sum((r.spend for r in rows), ZERO),
        replies=sum(r.replies for r in rows),
        tokens=sum(r.tokens for r in rows),
    )
    return total, rows
