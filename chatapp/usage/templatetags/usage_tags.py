from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from chatapp.usage import formats

register = template.Library()


@register.filter
def usd(value: Decimal | None) -> SafeString:
    """Render a dollar amount in full, the digits below a cent set smaller."""
    text = formats.money(value)
    whole, _, frac = text.partition(".")
    cents, rest = frac[:2], frac[2:]
    if not rest:
        return format_html('<span class="money">${}.{}</span>', whole, cents)
    return format_html(
        '<span class="money">${}.{}<span class="money-sub">{}</span></span>', whole, cents, rest
    )


@register.filter
def usd_avg(value: Decimal | None) -> str:
    return f"${formats.average(value)}"


@register.filter
def percent(value: Decimal | None) -> str:
    return formats.percent(value)


@register.filter
def tokens(value: int | None) -> str:
    return f"{value or 0:,}"


@register.filter
def share_width(share: Decimal | None) -> str:
    return f"{(share or Decimal(0)) * 100:.2f}"


@register.filter
def moment(value: datetime | None) -> str:
    return formats.moment(value)


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key)
