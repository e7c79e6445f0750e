"""The text of every figure, shared by the pages and the CSV so the two always agree."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from chatapp.usage.money import ZERO, usd_text

__all__ = ["ZERO", "average", "moment", "money", "percent"]
from chatapp.core.periods import local_zone

AVERAGE_PLACES = Decimal("0.000001")


def money(value: Decimal | None) -> str:
    """Return the exact amount: every stored digit, at least cents."""
    return usd_text(value if value is not None else ZERO)


def average(value: Decimal | None) -> str:
    # An average is a quotient, not a sum of rows: it is rounded, to a millionth of a dollar.
    return format((value or ZERO).quantize(AVERAGE_PLACES, rounding=ROUND_HALF_EVEN), "f")


def percent(share: Decimal | None) -> str:
    return f"{(share or ZERO) * 100:.1f}%"


def moment(value: datetime | None) -> str:
    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if value else ""
