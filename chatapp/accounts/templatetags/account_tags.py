from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def dollars(value: Decimal | None) -> str:
    """Return an amount for the account page: $12.50, or four places below a dollar."""
    if value is None:
        return ""
    places = Decimal("0.01") if abs(value) >= 1 or not value else Decimal("0.0001")
    return f"${value.quantize(places):,}"
