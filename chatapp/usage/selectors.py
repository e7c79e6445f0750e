"""Reads for the cost dashboard and "My usage", all from the exact daily rollup.

Every dollar figure is a sum of integer cost columns (10⁻¹⁰ and 10⁻²⁰ USD, usage/money.py), so
it equals the sum of the stored Message.cost values to the last digit on every database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message
from chatapp.core.periods import day_bounds, local_today
from chatapp.usage.models import (
    ConversationModelUsage,
    ConversationUsage,
    DeletedSpend,
    SiteUsageDaily,
    UsageDaily,
    UserUsageDaily,
)
from chatapp.usage.money import (
    ZERO,
    cost_sums,
    joined_units,
    summed_units,
    units_to_usd,
    usd_to_units,
)

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
    saved: Decimal = ZERO  # what cached prompt tokens saved

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


def _rows(*, user_id: int | None = None, model: str | None = None) -> QuerySet[Any]:
    # The whole site reads the per-(day, model, payer) sums; one person, their own rows.
    qs: QuerySet[Any] = (
        SiteUsageDaily.objects.all()
        if user_id is None
        else UsageDaily.objects.filter(user_id=user_id)
    )
    if model:
        qs = qs.filter(model=model)
    return qs


def _in_range(f: Filters) -> QuerySet[Any]:
    return _rows(user_id=f.user_id, model=f.model).filter(day__gte=f.start, day__lte=f.end)


def _sums() -> dict[str, Any]:
    return {
        **cost_sums(),
        "n": Coalesce(Sum("replies"), 0),
        "tok": Coalesce(Sum("tokens"), 0),
    }


def _by_spend(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Return grouped rows with their exact spend in "total" (10⁻²⁰ USD), most first."""
    for r in rows:
        r["total"] = summed_units(r)
    return sorted(rows, key=lambda r: (-r["total"], r[key]))


def _totals(values: dict[str, Any], prefix: str = "") -> Totals:
    return Totals(
        spend=units_to_usd(summed_units(values, prefix)),
        replies=int(values[f"{prefix}n"]),
        tokens=int(values[f"{prefix}tok"]),
        saved=units_to_usd(summed_units(values, f"{prefix}sv_"))
        if f"{prefix}sv_units" in values
        else ZERO,
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
        aggregates.update(cost_sums(f"{name}_", where))
        aggregates.update(cost_sums(f"{name}_sv_", where, column="saved"))
        aggregates[f"{name}_n"] = Coalesce(Sum("replies", filter=where), 0)
        aggregates[f"{name}_tok"] = Coalesce(Sum("tokens", filter=where), 0)
    lowest = min(lo for lo, _ in periods.values())
    highest = max(hi for _, hi in periods.values())
    qs = _rows(user_id=f.user_id, model=f.model).filter(day__gte=lowest, day__lte=highest)
    values = qs.aggregate(**aggregates)
    return {name: _totals(values, f"{name}_") for name in periods}


def usage_by_model(f: Filters, *, limit: int | None = None) -> list[Row]:
    raw = _by_spend(list(_in_range(f).values("model").annotate(**_sums()).order_by()), "model")
    total = units_to_usd(sum(r["total"] for r in raw))
    rows = [
        Row(
            key=r["model"],
            label=r["model"] or "(unknown model)",
            spend=units_to_usd(r["total"]),
            replies=r["n"],
            tokens=r["tok"],
            share=units_to_usd(r["total"]) / total if total else ZERO,
        )
        for r in raw
    ]
    return rows[:limit] if limit else rows


def usage_by_user(f: Filters, *, limit: int = TABLE_LIMIT) -> tuple[list[Row], int]:
    """Return the top spenders (most first) and how many users spent in the range."""
    qs: QuerySet[Any] = (
        UsageDaily.objects.filter(model=f.model) if f.model else UserUsageDaily.objects.all()
    )
    if f.user_id is not None:
        qs = qs.filter(user_id=f.user_id)
    grouped = _by_spend(
        list(
            qs.filter(day__gte=f.start, day__lte=f.end)
            .values("user_id")
            .annotate(**_sums(), last=Max("last_at"))
            .order_by()
        ),
        "user_id",
    )
    # Names only for the rows shown: joining users into the aggregate would group every row.
    top = grouped[:limit]
    names = dict(
        User.objects.filter(pk__in=[r["user_id"] for r in top]).values_list("pk", "username")
    )
    rows = [
        Row(
            key=r["user_id"],
            label=names.get(r["user_id"], ""),
            spend=units_to_usd(r["total"]),
            replies=r["n"],
            tokens=r["tok"],
            last_at=r["last"],
        )
        for r in top
    ]
    return rows, len(grouped)


def usage_top_conversations(f: Filters, *, limit: int = 20) -> list[Row]:
    """Return the conversations that cost most in the range (with a model filter: on it).

    Exact without summing every conversation: one that lies wholly inside the range spent
    its whole total there (an index gives the largest at once); only the few that straddle
    an edge of the range are summed from their message rows.
    """
    table = ConversationModelUsage if f.model else ConversationUsage
    qs: QuerySet[Any] = table.objects.all()
    if f.model:
        qs = qs.filter(model=f.model)
    if f.user_id is not None:
        qs = qs.filter(user_id=f.user_id)
    inside = qs.filter(first_day__gte=f.start, last_day__lte=f.end)
    inside = inside.order_by("-cost_units", "-cost_subunits")  # each below one unit: exact
    spend = {
        r.conversation_id: (joined_units(r.cost_units, r.cost_subunits), r.replies, r.tokens)
        for r in inside[:limit]
    }
    straddling = qs.filter(first_day__lte=f.end, last_day__gte=f.start).filter(
        Q(first_day__lt=f.start) | Q(last_day__gt=f.end)
    )
    spend.update(_conversation_spend(f, list(straddling.values_list("conversation_id", flat=True))))
    top = sorted(spend.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return _conversation_rows(top)


def _conversation_spend(f: Filters, ids: list[int]) -> dict[int, tuple[int, int, int]]:
    if not ids:
        return {}
    start, _ = day_bounds(f.start)
    _, end = day_bounds(f.end)
    rows = Message.objects.filter(
        conversation_id__in=ids, created_at__gte=start, created_at__lt=end
    )
    rows = rows.exclude(role=Message.Role.USER).filter(cost__isnull=False)
    if f.model:
        rows = rows.filter(model_used=f.model)
    spend: dict[int, tuple[int, int, int]] = {}
    for conv_id, cost, prompt, completion in rows.values_list(
        "conversation_id", "cost", "prompt_tokens", "completion_tokens"
    ):
        units, replies, tokens = spend.get(conv_id, (0, 0, 0))
        spend[conv_id] = (
            units + usd_to_units(cost),
            replies + 1,
            tokens + (prompt or 0) + (completion or 0),
        )
    return spend


def _conversation_rows(top: list[tuple[int, tuple[int, int, int]]]) -> list[Row]:
    convs = Conversation.objects.filter(pk__in=[k for k, _ in top]).select_related("owner")
    by_id = {c.pk: c for c in convs.only("title", "owner__username")}
    return [
        Row(
            key=conv_id,
            label=str(by_id[conv_id]) if conv_id in by_id else f"Conversation {conv_id}",
            owner=by_id[conv_id].owner.username if conv_id in by_id else "",
            spend=units_to_usd(units),
            replies=replies,
            tokens=tokens,
        )
        for conv_id, (units, replies, tokens) in top
        if units or replies
    ]


def usage_daily(
    f: Filters, *, by: str, top: int = 6
) -> tuple[list[str], dict[date, dict[str, Decimal]]]:
    """Return the series names and spend per day per series; every day of the range is present.

    by="model": the `top` models by spend in the range, the rest summed as "Other";
    by="payer": user key vs operator key.
    """
    field = "paid_by" if by == "payer" else "model"
    grouped = _in_range(f).values("day", field).annotate(**cost_sums()).order_by()
    per_day: dict[date, dict[str, int]] = {day: {} for day in f.days}
    totals: dict[str, int] = {}
    for r in grouped:
        day, name, units = r["day"], _series_name(r[field], by), summed_units(r)
        series = per_day[day]
        series[name] = series.get(name, 0) + units
        totals[name] = totals.get(name, 0) + units
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
    qs = qs.exclude(role=Message.Role.USER).filter(cost__isnull=False)
    if f.model:
        qs = qs.filter(model_used=f.model)
    return qs.select_related("conversation").order_by("-created_at", "-id")


def usage_month_by_model(*, user_id: int) -> tuple[Totals, list[Row]]:
    """Return a user's spend this calendar month, in total and per model."""
    today = local_today()
    f = Filters(start=today.replace(day=1), end=today, user_id=user_id)
    rows = usage_by_model(f)
    saved = _in_range(f).aggregate(**cost_sums(column="saved"))
    total = Totals(
        spend=sum((r.spend for r in rows), ZERO),
        replies=sum(r.replies for r in rows),
        tokens=sum(r.tokens for r in rows),
        saved=units_to_usd(summed_units(saved)),
    )
    return total, rows


def usage_deleted(f: Filters) -> Totals:
    """Return the spend in the range of conversations deleted since (not in the other figures)."""
    qs = DeletedSpend.objects.filter(day__gte=f.start, day__lte=f.end)
    if f.user_id is not None:
        qs = qs.filter(user_id=f.user_id)
    if f.model:
        qs = qs.filter(model=f.model)
    return _totals(qs.aggregate(**_sums()))


def usage_cost_unknown(f: Filters) -> int:
    """Replies in the range that OpenRouter may have charged for but whose cost is not known:
    interrupted, or ended with a generation id and no cost (/generation never answered). They
    are in none of the sums, and the page says how many there are instead of showing $0."""
    start, _ = day_bounds(f.start)
    _, end = day_bounds(f.end)
    qs = Message.objects.filter(
        role=Message.Role.ASSISTANT,
        cost__isnull=True,
        created_at__gte=start,
        created_at__lt=end,
    ).exclude(status=Message.Status.STREAMING)
    qs = qs.filter(Q(status=Message.Status.INTERRUPTED) | ~Q(generation_id=""))
    if f.user_id is not None:
        qs = qs.filter(user_id=f.user_id)
    if f.model:
        qs = qs.filter(Q(model_used=f.model) | Q(model_used="", model=f.model))
    return qs.count()
