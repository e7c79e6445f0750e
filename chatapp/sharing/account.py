"""The sharing app's section of the account page: export all, import, shares."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from chatapp.accounts.models import User
from chatapp.sharing.imports.jobs import latest_job
from chatapp.sharing.shares import shares_for


def _section(user: User) -> dict[str, Any]:
    return {
        "shares": shares_for(user=user),
        "job": latest_job(user=user),
        "max_import_mb": settings.CHATAPP_MAX_IMPORT_MB,
    }


async def account_section(user: User) -> dict[str, Any]:
    return await sync_to_async(_section)(user)
