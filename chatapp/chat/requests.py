"""What one reply asks of OpenRouter: the fitted history, provider routing, web search, transforms.

`request_plan()` runs where the history is built (chat/services.py), before anything is sent;
the options are stored on the reply (`Message.request_options`), so the worker sends exactly
what was planned and the record shows how each reply was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import F

from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat.context import DoesNotFit, estimate_tokens, fit_history, output_reserve
from chatapp.chat.models import ContextStrategy, Conversation, Message, RoutingDefaults
from chatapp.openrouter import PROVIDER_SORTS, ChatOptions, ProviderPreferences

if TYPE_CHECKING:
    from chatapp.openrouter import ChatMessage

__all__ = ["DoesNotFit", "ModelCannotRead", "RequestPlan", "request_plan"]

# What each kind of content part asks of a model's input_modalities (None: any model reads it).
PART_NEEDS = {"image_url": "image", "input_audio": "audio", "file": "file"}
NEEDS_WORDS = {"image": "images", "audio": "audio", "file": "PDFs as files"}
SUGGESTIONS = 3


class ModelCannotRead(Exception):
    """The request carries a kind of content the model does not take; `message` names models
    that do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    """Fit `history` to the model and gather the options; raise DoesNotFit when it cannot fit,
    ModelCannotRead when it carries images, audio or files the model does not take."""
    options = conversation_options(conversation)
    if conversation.pdf_engine and "file" in parts_in(history):
        options = replace(options, pdf_engine=conversation.pdf_engine)
    row = model_row(model_id)
    if row is not None:
        check_modalities(
            row, history, pdf_engine=conversation.pdf_engine, user_id=conversation.owner_id
        )
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


def parts_in(history: list[ChatMessage]) -> set[str]:
    """The types of the content parts `history` holds ("image_url", "file", …)."""
    return {
        part["type"]
        for message in history
        if not isinstance(message["content"], str)
        for part in message["content"]
    }


def modalities_needed(history: list[ChatMessage], *, pdf_engine: str) -> set[str]:
    """The input modalities a model must list to read `history`. A PDF needs "file" only
    when it goes to the model itself (engine "native"): otherwise OpenRouter parses it."""
    needed = {PART_NEEDS[kind] for kind in parts_in(history) if kind in PART_NEEDS}
    if pdf_engine != "native":
        needed.discard("file")
    return needed


def check_modalities(
    row: CatalogModel, history: list[ChatMessage], *, pdf_engine: str, user_id: int
) -> None:
    """Refuse, before anything is sent, a model that cannot read what `history` carries."""
    needed = modalities_needed(history, pdf_engine=pdf_engine)
    lacking = sorted(needed - set(row.input_modalities or ()))
    if not lacking:
        return
    what = " or ".join(NEEDS_WORDS[m] for m in lacking)
    names = models_that_read(needed, user_id=user_id)
    suggestion = (
        f" Models that can: {', '.join(names)}. Pick one in the model picker, or remove the file."
        if names
        else " No model in the catalogue reads all of them: remove the file and send again."
    )
    raise ModelCannotRead(f"{row.name or row.model_id} can’t read {what}.{suggestion}")


def models_that_read(needed: set[str], *, user_id: int) -> list[str]:
    """A few models that read `needed`: the person's favourites first, then the cheapest."""
    chosen = User.objects.filter(pk=user_id).values_list("favorite_models", flat=True).first()
    favourites = set(chosen or ())
    cheapest = F("prompt_price").asc(nulls_last=True)  # unknown prices last, on both databases
    rows = CatalogModel.objects.filter(is_active=True).order_by(cheapest, "name")
    able = [
        (row.model_id not in favourites, index, row.name or row.model_id)
        for index, row in enumerate(rows.only("model_id", "name", "input_modalities"))
        if needed <= set(row.input_modalities or ())
    ]
    return [name for _, _, name in sorted(able)[:SUGGESTIONS]]


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
    parsers = [p for p in stored.get("plugins") or [] if p.get("id") == "file-parser"]
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
        pdf_engine=(parsers[0].get("pdf") or {}).get("engine") if parsers else None,
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
