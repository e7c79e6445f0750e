from __future__ import annotations

import asyncio

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatapp.core.health import achannel_layer_answers, adatabase_answers


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    database, channel_layer = await asyncio.gather(adatabase_answers(), achannel_layer_answers())
    ok = database and channel_layer
    body = {
        "database": "ok" if database else "down",
        "channel_layer": "ok" if channel_layer else "down",
    }
    return JsonResponse(body, status=200 if ok else 503)
