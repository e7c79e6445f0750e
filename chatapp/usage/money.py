"""Exact dollar sums and their text: money is Decimal end to end."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from chatapp.chat.models import Message

ZERO = Decimal(0)
# Message.cost keeps 20 decimal places. The rollups count money in integers, because SQLite sums
# decimals as floats; one integer of 10⁻²⁰ USD would overflow 64 bits at $0.09, so each rollup
# row holds two: `cost_units` (10⁻¹⁰ USD) and `cost_subunits` (the rest, 10⁻²⁰ USD, below one
# unit). Summed column by column they stay exact on every database; Python joins them.
COST_SCALE = 20
SUBUNITS = 10**10  # subunits per unit


def units_to_usd(units: int | None) -> Decimal:
    """Return dollars for an amount in 10⁻²⁰ USD."""
    return Decimal(units or 0).scaleb(-COST_SCALE)


def usd_to_units(value: Decimal | None) -> int:
    """Return an amount in 10⁻²⁰ USD (exact for every stored cost: they have 20 places)."""
    return int((value or ZERO).scaleb(COST_SCALE))


def cost_columns(units: int, column: str = "cost") -> dict[str, int]:
    """Return the rollup columns that hold `units` (10⁻²⁰ USD): `cost_…`, or `saved_…`."""
    whole, rest = divmod(units, SUBUNITS)
    return {f"{column}_units": whole, f"{column}_subunits": rest}


def joined_units(whole: int | None, rest: int | None) -> int:
    """Return the amount in 10⁻²⁰ USD that (sums of) the two rollup columns hold."""
    return int(whole or 0) * SUBUNITS + int(rest or 0)


def cost_sums(prefix: str = "", where: Q | None = None, column: str = "cost") -> dict[str, Any]:
    """Aggregates summing both rollup columns of `column`; read them back with `summed_units`."""
    return {
        f"{prefix}units": Coalesce(Sum(f"{column}_units", filter=where), 0),
        f"{prefix}subunits": Coalesce(Sum(f"{column}_subunits", filter=where), 0),
    }


def summed_units(values: dict[str, Any], prefix: str = "") -> int:
    return joined_units(values[f"{prefix}units"], values[f"{prefix}subunits"])


def exact_sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def exact_cost_sum(messages: QuerySet[Message]) -> Decimal:
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
