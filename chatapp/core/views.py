from __future__ import annotations

import asyncio

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatapp.core.health import abus_answers, adatabase_answers


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    database, bus = await asyncio.gather(adatabase_answers(), abus_answers())
    ok = database and bus
    body = {"database": "ok" if database else "down", "bus": "ok" if bus else "down"}
    return JsonResponse(body, status=200 if ok else 503)
