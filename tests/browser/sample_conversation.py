"""A realistic conversation for the share and export browser tests, made inside the live app.

Run there through `LiveApp.query` (manage.py shell), so it writes to the live server's database.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message

SEARCH = """Here is a compact **iterative** version:

```python
def search(items, target):
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
```

It runs in *O(log n)*: each step halves the range."""

BISECT = """Use `bisect_left`, which finds the insertion point:

1. `i = bisect_left(items, target)`
2. check `i < len(items) and items[i] == target`

<script>alert('x')</script> stays text."""

PAID = {
    "model": "openai/gpt-4o-mini",
    "model_used": "openai/gpt-4o-mini",
    "prompt_tokens": 31,
    "completion_tokens": 212,
    "cost": Decimal("0.0001318"),
    "paid_by": "operator",
}


def create(username: str) -> int:
    """Give `username` the display name Alice Martin and a four-message chat; return its id."""
    user = User.objects.get(username=username)
    user.first_name, user.last_name = "Alice", "Martin"
    user.save(update_fields=["first_name", "last_name"])
    conv = Conversation.objects.create(
        owner=user, title="Binary search in Python", model="openai/gpt-4o-mini"
    )
    start = timezone.now() - timedelta(hours=2)

    def add(
        role: str, content: str, parent: Message | None, minutes: int, **fields: Any
    ) -> Message:
        m = Message.objects.create(
            conversation=conv, user=user, role=role, content=content, parent=parent, **fields
        )
        m.created_at = start + timedelta(minutes=minutes)
        m.save(update_fields=["created_at"])
        return m

    q = add("user", "How do I write a binary search in Python? Keep it short.", None, 0)
    a = add("assistant", SEARCH, q, 1, **PAID)
    q2 = add("user", "And with the bisect module?", a, 2)
    add("assistant", BISECT, q2, 3, **PAID)
    return conv.pk
