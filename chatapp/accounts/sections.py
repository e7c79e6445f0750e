"""Sections other apps add to the account page, without the accounts app importing them.

An app registers a template and an async function that returns its context for the signed-in
user (from its AppConfig.ready); the account page renders each one after its own sections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chatapp.accounts.models import User

SectionContext = Callable[[User], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class AccountSection:
    template: str
    context: SectionContext


_sections: dict[str, AccountSection] = {}


def register_account_section(template: str, context: SectionContext) -> None:
    _sections[template] = AccountSection(template=template, context=context)


async def arender_sections(user: User) -> list[dict[str, Any]]:
    """Return [{template, context}] for every registered section, in registration order."""
    return [{"template": s.template, "context": await s.context(user)} for s in _sections.values()]
