from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatapp.chat import fanout
from chatapp.core.health import abus_answers, adatabase_answers


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    database, bus = await asyncio.gather(adatabase_answers(), abus_answers())
    ok = database and bus
    body = {"database": "ok" if database else "down", "bus": "ok" if bus else "down"}
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    """This process's delivery counts, in Prometheus' text format (no personal data)."""
    lines = []
    for name, value in fanout.counters().items():
        metric = f"chatapp_fanout_{name}_total"
        lines += [f"# TYPE {metric} counter", f"{metric} {value}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
