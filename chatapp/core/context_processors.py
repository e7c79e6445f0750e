from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.CHATAPP_SITE_NAME,
        "signup_enabled": settings.CHATAPP_SIGNUP_ENABLED,
    }
