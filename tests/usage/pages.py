"""Read figures back out of the dashboard's HTML and CSV, the way a person would."""

from __future__ import annotations

import csv
import html
import io
import re


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def card(page: str, period: str) -> str:
    """Return the dollar figure of a stat card, e.g. "$1.2345" → "1.2345"."""
    block = re.search(rf'data-period="{period}">(.*?)</div>\s*</div>', page, re.S)
    assert block, f"no {period} card"
    value = re.search(r'<div class="value">(.*?)</div>', block.group(1), re.S)
    assert value
    return text(value.group(1)).removeprefix("$")


def table(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', page, re.S)
    assert match, f"no table {table_id}"
    body = match.group(1).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) > 1:
            rows.append([c.removeprefix("$").replace(",", "") for c in cells])
    return rows


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))
