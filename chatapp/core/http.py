"""Small request helpers the apps' JSON endpoints share."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest


def json_object(request: HttpRequest) -> dict[str, Any]:
    """Return the request's JSON body if it is an object, else {} (absent, invalid, a list)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
