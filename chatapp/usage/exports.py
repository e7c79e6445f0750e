"""The dashboard's tables as CSV rows, with the very strings the page shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from chatapp.usage import formats

CARD_LABELS = {
    "today": "Today",
    "week": "Last 7 days",
    "month": "Last 30 days",
    "range": "Chosen range",
}

DELETED_LABEL = "Deleted conversations in the range (not in the totals)"


def summary(data: dict[str, Any]) -> Iterator[list[str]]:
    yield ["period", "spend_usd", "replies", "tokens"]
    for key, label in CARD_LABELS.items():
        t = data["cards"][key]
        yield [label, formats.money(t.spend), str(t.replies), str(t.tokens)]
    gone = data["deleted"]
    if gone.replies:
        yield [DELETED_LABEL, formats.money(gone.spend), str(gone.replies), str(gone.tokens)]


def daily(data: dict[str, Any]) -> Iterator[list[str]]:
    yield ["date", *data["series"], "total_usd"]
    for day in data["filters"].days:
        values = data["per_day"][day]
        total = sum(values.values(), formats.ZERO)
        yield [
            day.isoformat(),
            *(formats.money(values.get(n)) for n in data["series"]),
            formats.money(total),
        ]


def users(data: dict[str, Any]) -> Iterator[list[str]]:
    yield ["user", "spend_usd", "replies", "tokens", "avg_cost_per_reply_usd", "last_active"]
    for r in data["users"]:
        yield [
            r.label,
            formats.money(r.spend),
            str(r.replies),
            str(r.tokens),
            formats.average(r.avg_per_reply),
            formats.moment(r.last_at),
        ]


def models(data: dict[str, Any]) -> Iterator[list[str]]:
    yield ["model", "spend_usd", "replies", "tokens", "share"]
    for r in data["models"]:
        yield [
            r.label,
            formats.money(r.spend),
            str(r.replies),
            str(r.tokens),
            formats.percent(r.share),
        ]


def conversations(data: dict[str, Any]) -> Iterator[list[str]]:
    yield ["conversation_id", "title", "user", "spend_usd", "replies", "tokens"]
    for r in data["conversations"]:
        yield [str(r.key), r.label, r.owner, formats.money(r.spend), str(r.replies), str(r.tokens)]


TABLES: dict[str, Callable[[dict[str, Any]], Iterator[list[str]]]] = {
    "summary": summary,
    "daily": daily,
    "users": users,
    "models": models,
    "conversations": conversations,
}


def spreadsheet_safe(cell: str) -> str:
    # A username like "=HYPERLINK(…)" must stay text when the file is opened in a spreadsheet.
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
