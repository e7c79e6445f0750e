"""Topic names on the hub (chat/fanout.py): the only place that spells them."""

from __future__ import annotations

import hashlib
from typing import Any


def conversation_group(pk: int) -> str:
    """Every socket watching conversation `pk` (tabs, devices) is in this group."""
    return f"conversation.{pk}"


def generation_group(pk: int) -> str:
    """The worker running a reply in conversation `pk` listens here, in whichever process it is.

    At most one generation runs per conversation, so "stop" and "snapshot" requests need no
    registry of which process owns it: they go to this group and only the owner is in it.
    """
    return f"generation.{pk}"


def user_group(pk: int) -> str:
    """Every socket of user `pk`: conversation list changes (created, titled) go here."""
    return f"user.{pk}"


def session_tag(session: Any) -> str | None:
    """A session's name in frames between processes (a hash, never the session key itself)."""
    key = getattr(session, "session_key", None)
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else None
