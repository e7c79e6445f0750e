"""The chat page and the small JSON endpoints its script calls (rename, delete, settings, search).

Sending and streaming go over the websocket (docs/websocket-protocol.md), not through here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.accounts.keys import no_key_reason, resolve_api_key
from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.catalog.providers import ProvidersUnavailable, model_providers
from chatapp.chat import fanout, selectors
from chatapp.chat.conversations import (
    PARAMETERS,
    SettingsError,
    conversation_create,
    conversation_delete,
    conversation_rename,
    conversation_set_web_search,
    conversation_update_settings,
)
from chatapp.chat.models import Conversation, RoutingDefaults
from chatapp.chat.protocol import conversation_data
from chatapp.chat.requests import routing_defaults
from chatapp.core.http import json_object

FALLBACK_MODEL = "openai/gpt-4o-mini"


@require_GET
@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request, None)


@require_GET
@login_required
def conversation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _page(request, _owned(request, pk))


def _page(request: AuthenticatedHttpRequest, conv: Conversation | None) -> HttpResponse:
    user = request.user
    sidebar = selectors.conversation_sidebar(user=user, include=conv.pk if conv else None)
    context = {
        "conversation": conv,
        "sidebar": sidebar,
        "chat_data": _chat_data(request, conv),
    }
    return render(request, "chat/home.html", context)


def _chat_data(request: AuthenticatedHttpRequest, conv: Conversation | None) -> dict[str, Any]:
    user = request.user
    key = resolve_api_key(user)
    return {
        "conversation": _conversation_state(conv) if conv else None,
        "messages": selectors.conversation_transcript(conversation=conv) if conv else [],
        "default_model": default_model(user),
        "favorites": list(user.favorite_models),
        "key": {"ok": key is not None, "reason": "" if key else no_key_reason(user)},
        "parameters": [vars(p) for p in PARAMETERS],
        "routing_defaults": routing_defaults_data(),
        "urls": {
            "models": reverse("catalog:models"),
            "favorite": reverse("catalog:favorite"),
            "search": reverse("chat:search"),
            "providers": reverse("chat:providers"),
            "estimate": reverse("usage:estimate"),
            "attachments": reverse("attachments:upload"),
            "create": reverse("chat:create"),
            "home": reverse("chat:home"),
            "socket": "/ws/chat/",
        },
    }


def _conversation_state(conv: Conversation) -> dict[str, Any]:
    return {
        **conversation_data(conv),
        "system_prompt": conv.system_prompt,
        "parameters": conv.parameters,
        "web_search": conv.web_search,
        "routing": _routing(conv),
    }


def _routing(row: Conversation | RoutingDefaults) -> dict[str, Any]:
    return {
        "provider_sort": row.provider_sort,
        "provider_order": getattr(row, "provider_order", []),
        "allow_fallbacks": row.allow_fallbacks,
        "deny_data_collection": row.deny_data_collection,
        "context_strategy": row.context_strategy,
        "pdf_engine": getattr(row, "pdf_engine", ""),
    }


def routing_defaults_data() -> dict[str, Any]:
    """What a new chat's settings panel shows before it is saved: the site's defaults."""
    return _routing(routing_defaults())


def default_model(user: User) -> str:
    """Return the model a new chat starts with: the last one used, else a favourite."""
    for candidate in [user.last_model, *user.favorite_models, FALLBACK_MODEL]:
        if candidate and CatalogModel.objects.filter(model_id=candidate, is_active=True).exists():
            return str(candidate)
    first = CatalogModel.objects.filter(is_active=True).order_by("name").first()
    return first.model_id if first else (user.last_model or FALLBACK_MODEL)


def _owned(request: AuthenticatedHttpRequest, pk: int) -> Conversation:
    conv = selectors.conversation_find(user=request.user, pk=pk)
    if conv is None:
        raise Http404("No such conversation.")
    return conv


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
@login_required
def create(request: AuthenticatedHttpRequest) -> JsonResponse:
    body = json_object(request)
    try:
        conv = conversation_create(
            user=request.user,
            model=str(body.get("model") or default_model(request.user)),
            system_prompt=str(body.get("system_prompt") or ""),
            parameters=body.get("parameters") or {},
            routing=_dict(body.get("routing")),
            web_search=bool(body.get("web_search")),
        )
    except SettingsError as error:
        return _refused(str(error))
    return JsonResponse({"conversation": _conversation_state(conv), "url": conv_url(conv)})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def conv_url(conv: Conversation) -> str:
    return reverse("chat:conversation", args=[conv.pk])


@require_POST
@login_required
def rename(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    title = str(json_object(request).get("title") or "").strip()
    if not title:
        return _refused("A title needs at least one character.")
    conv = conversation_rename(conversation=_owned(request, pk), title=title)
    return JsonResponse({"conversation": conversation_data(conv)})


@require_POST
@login_required
def delete(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    files = conversation_delete(conversation=_owned(request, pk))
    return JsonResponse({"deleted": pk, "files": files})


@require_POST
@login_required
def update_settings(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    conv = _owned(request, pk)
    body = json_object(request)
    try:
        conv = conversation_update_settings(
            conversation=conv,
            model=str(body.get("model") or conv.model),
            system_prompt=str(body.get("system_prompt") or ""),
            parameters=body.get("parameters") or {},
            routing=_dict(body.get("routing")),
        )
    except SettingsError as error:
        return _refused(str(error))
    return JsonResponse({"conversation": _conversation_state(conv)})


@require_POST
@login_required
def web_search(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    on = bool(json_object(request).get("on"))
    conv = conversation_set_web_search(conversation=_owned(request, pk), on=on)
    return JsonResponse({"conversation": _conversation_state(conv)})


@require_GET
@login_required
def search(request: AuthenticatedHttpRequest) -> JsonResponse:
    hits = selectors.conversation_search(user=request.user, query=request.GET.get("q", ""))
    return JsonResponse({"results": hits})


@require_GET
@login_required
def providers(request: AuthenticatedHttpRequest) -> JsonResponse:
    """The providers of a model, for the "Prefer providers" list of the settings panel."""
    model_id = request.GET.get("model", "")
    if not CatalogModel.objects.filter(model_id=model_id).exists():
        return _refused("That model is not in the catalogue.", status=404)
    key = resolve_api_key(request.user)
    try:
        found = model_providers(model_id=model_id, api_key=key.api_key if key else None)
    except ProvidersUnavailable as error:
        return _refused(str(error), status=502)
    return JsonResponse({"model": model_id, "providers": found})


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    """This process's delivery counts, in Prometheus' text format (no personal data)."""
    lines = []
    for name, value in fanout.counters().items():
        metric = f"chatapp_fanout_{name}_total"
        lines += [f"# TYPE {metric} counter", f"{metric} {value}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
