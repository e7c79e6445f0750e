"""What one reply asks of OpenRouter: the fitted history, provider routing, web search, transforms.

`request_plan()` runs where the history is built (chat/services.py), before anything is sent;
the options are stored on the reply (`Message.request_options`), so the worker sends exactly
what was planned and the record shows how each reply was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from chatapp.catalog.models import CatalogModel
from chatapp.chat.context import DoesNotFit, estimate_tokens, fit_history, output_reserve
from chatapp.chat.models import ContextStrategy, Conversation, Message, RoutingDefaults
from chatapp.openrouter import PROVIDER_SORTS, ChatOptions, ProviderPreferences

if TYPE_CHECKING:
    from chatapp.openrouter import ChatMessage

__all__ = ["DoesNotFit", "RequestPlan", "request_plan"]


@dataclass(frozen=True)
class RequestPlan:
    messages: list[ChatMessage]
    omitted: int  # older messages of the branch left out
    tokens: int  # the estimated prompt tokens of `messages`
    options: ChatOptions
    model: CatalogModel | None


def conversation_options(conversation: Conversation) -> ChatOptions:
    sort = conversation.provider_sort
    return ChatOptions(
        provider=ProviderPreferences(
            sort=sort if sort in PROVIDER_SORTS else None,  # type: ignore[arg-type]
            order=tuple(str(p) for p in conversation.provider_order or ()),
            allow_fallbacks=conversation.allow_fallbacks,
            deny_data_collection=conversation.deny_data_collection,
        ),
        web_results=settings.CHATAPP_WEB_SEARCH_MAX_RESULTS if conversation.web_search else None,
        middle_out=conversation.context_strategy == ContextStrategy.MIDDLE_OUT,
    )


def model_row(model_id: str) -> CatalogModel | None:
    return CatalogModel.objects.filter(model_id=model_id).first()


def request_plan(
    *, conversation: Conversation, model_id: str, history: list[ChatMessage]
) -> RequestPlan:
    """Fit `history` to the model and gather the options; raise DoesNotFit when it cannot."""
    options = conversation_options(conversation)
    row = model_row(model_id)
    if row is None or not row.context_length:
        return RequestPlan(history, 0, estimate_tokens(history), options, row)
    max_tokens = conversation.parameters.get("max_tokens")
    fitted = fit_history(
        history,
        context_length=row.context_length,
        reserve=output_reserve(
            context_length=row.context_length,
            max_tokens=int(max_tokens) if max_tokens else None,
            max_completion_tokens=row.max_completion_tokens,
        ),
        model_name=row.name,
        middle_out=options.middle_out,
    )
    return RequestPlan(fitted.messages, fitted.omitted, fitted.tokens, options, row)


def reply_plan_store(*, reply: Message, plan: RequestPlan) -> None:
    """Record on the reply how it is asked for (one UPDATE, only when there is anything)."""
    reply.request_options = options_json(plan.options)
    reply.context_omitted = plan.omitted
    if reply.request_options or reply.context_omitted:
        Message.objects.filter(pk=reply.pk).update(
            request_options=reply.request_options, context_omitted=reply.context_omitted
        )


def options_json(options: ChatOptions) -> dict[str, Any]:
    """The options as stored: exactly the keys they add to the request body."""
    return options.body()


def reply_options(reply: Message) -> ChatOptions:
    """The options planned for `reply` (what the worker sends)."""
    stored = reply.request_options or {}
    provider = stored.get("provider") or {}
    plugins = [p for p in stored.get("plugins") or [] if p.get("id") == "web"]
    sort = provider.get("sort")
    return ChatOptions(
        provider=ProviderPreferences(
            sort=sort if sort in PROVIDER_SORTS else None,
            order=tuple(provider.get("order") or ()),
            allow_fallbacks=provider.get("allow_fallbacks", True),
            deny_data_collection=provider.get("data_collection") == "deny",
        ),
        web_results=int(plugins[0]["max_results"]) if plugins else None,
        middle_out="middle-out" in (stored.get("transforms") or ()),
    )


def routing_defaults() -> RoutingDefaults:
    """The site's defaults for new conversations (an unsaved row when no admin set them)."""
    return RoutingDefaults.objects.filter(pk=1).first() or RoutingDefaults()


def apply_routing_defaults(conversation: Conversation) -> None:
    defaults = routing_defaults()
    conversation.provider_sort = defaults.provider_sort
    conversation.allow_fallbacks = defaults.allow_fallbacks
    conversation.deny_data_collection = defaults.deny_data_collection
    conversation.context_strategy = defaults.context_strategy
