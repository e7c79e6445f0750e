"""Exact dollar sums and their text: money is Decimal end to end."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet, Sum

from chatapp.usage.models import COST_SCALE

ZERO = Decimal(0)


def units_to_usd(units: int | None) -> Decimal:
    return Decimal(units or 0).scaleb(-COST_SCALE)


def usd_to_units(value: Decimal | None) -> int:
    return int((value or ZERO).scaleb(COST_SCALE))


def exact_sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def exact_cost_sum(messages: QuerySet) -> Decimal:
    """Return the exact sum of `cost` over `messages`.

    PostgreSQL sums numeric exactly; SQLite sums decimals as floats, so there the rows are
    added up in Python.
    """
    if connection.vendor == "postgresql":
        return messages.aggregate(total=Sum("cost"))["total"] or ZERO
    return exact_sum(messages.values_list("cost", flat=True))


def usd_text(value: Decimal) -> str:
    """Return `value` in full, with at least cents: 12.5 → "12.50", 0.0001234 → "0.0001234"."""
    text = format(value.normalize(), "f") if value else "0"
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def usd_short(value: Decimal) -> str:
    """Return `value` rounded for prose: cents, or four places for fractions of a cent."""
    cents = value.quantize(Decimal("0.01"))
    exact_or_large = cents == value or abs(value) >= 1
    return f"${cents if exact_or_large else value.quantize(Decimal('0.0001')):,}"


async def aexact_cost_sum(messages: QuerySet) -> Decimal:
    if connection.vendor == "postgresql":
        return (await messages.aaggregate(total=Sum("cost")))["total"] or ZERO
    return exact_sum([cost async for cost in messages.values_list("cost", flat=True)])
