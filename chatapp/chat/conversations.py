"""Writes the chat page makes outside the websocket: create, rename, delete, settings.

Sending, stopping and regenerating belong to the streaming engine (chat/services.py); these are
the plain edits a person makes to a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import ContextStrategy, Conversation, PdfEngine, ProviderSort
from chatapp.chat.requests import apply_routing_defaults

TITLE_MAX = 200
SYSTEM_PROMPT_MAX = 20_000
PROVIDER_ORDER_MAX = 20
PROVIDER_NAME_MAX = 100
ROUTING_FIELDS = [
    "provider_sort",
    "provider_order",
    "allow_fallbacks",
    "deny_data_collection",
    "context_strategy",
    "pdf_engine",
]


@dataclass(frozen=True)
class Parameter:
    """A sampling parameter a person may set, and the values OpenRouter accepts for it."""

    name: str
    label: str
    minimum: float
    maximum: float
    step: float
    integer: bool = False


# The parameters the settings panel offers, in the order it shows them; each is shown only
# when the conversation's model lists it in supported_parameters.
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("temperature", "Temperature", 0, 2, 0.05),
    Parameter("top_p", "Top P", 0, 1, 0.01),
    Parameter("top_k", "Top K", 0, 1000, 1, integer=True),
    Parameter("max_tokens", "Max tokens", 1, 1_000_000, 1, integer=True),
    Parameter("frequency_penalty", "Frequency penalty", -2, 2, 0.05),
    Parameter("presence_penalty", "Presence penalty", -2, 2, 0.05),
    Parameter("repetition_penalty", "Repetition penalty", 0, 2, 0.05),
    Parameter("min_p", "Min P", 0, 1, 0.01),
    Parameter("seed", "Seed", 0, 2**31 - 1, 1, integer=True),
)
PARAMETERS_BY_NAME = {p.name: p for p in PARAMETERS}


class SettingsError(ValueError):
    """A value a person typed that cannot be used; the message says which and why."""


def supported_parameters(model_id: str) -> list[str]:
    row = CatalogModel.objects.filter(model_id=model_id).only("supported_parameters").first()
    return list(row.supported_parameters) if row else []


def clean_parameters(*, model_id: str, raw: dict[str, Any]) -> dict[str, float | int]:
    """Return the parameters the model supports, checked; blank values are left out."""
    supported = set(supported_parameters(model_id))
    cleaned: dict[str, float | int] = {}
    for name, value in raw.items():
        spec = PARAMETERS_BY_NAME.get(name)
        if spec is None or name not in supported or value in (None, ""):
            continue
        cleaned[name] = _checked(spec, value)
    return cleaned


def _checked(spec: Parameter, value: Any) -> float | int:
    try:
        number: float | int = int(value) if spec.integer else float(value)
    except (TypeError, ValueError):
        kind = "a whole number" if spec.integer else "a number"
        raise SettingsError(f"{spec.label} must be {kind}.") from None
    if not spec.minimum <= number <= spec.maximum:
        raise SettingsError(f"{spec.label} must be between {spec.minimum:g} and {spec.maximum:g}.")
    return number


def clean_routing(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the provider-routing fields in `raw`, checked; fields it leaves out are absent."""
    cleaned: dict[str, Any] = {}
    if "provider_sort" in raw:
        sort = str(raw["provider_sort"] or "")
        if sort not in ProviderSort.values:
            raise SettingsError("Sort providers by must be Default, Price, Throughput or Latency.")
        cleaned["provider_sort"] = sort
    if "provider_order" in raw:
        cleaned["provider_order"] = _provider_order(raw["provider_order"])
    for name in ("allow_fallbacks", "deny_data_collection"):
        if name in raw:
            cleaned[name] = bool(raw[name])
    if "context_strategy" in raw:
        strategy = str(raw["context_strategy"])
        if strategy not in ContextStrategy.values:
            raise SettingsError("Choose how to fit long conversations: trim or middle-out.")
        cleaned["context_strategy"] = strategy
    if "pdf_engine" in raw:
        engine = str(raw["pdf_engine"] or "")
        if engine not in PdfEngine.values:
            raise SettingsError(
                "Read PDFs with must be OpenRouter's choice, pdf-text, mistral-ocr or native."
            )
        cleaned["pdf_engine"] = engine
    return cleaned


def _provider_order(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise SettingsError("The provider order must be a list of provider names.")
    names = list(dict.fromkeys(p.strip() for p in value if p.strip()))
    if len(names) > PROVIDER_ORDER_MAX or any(len(p) > PROVIDER_NAME_MAX for p in names):
        raise SettingsError(f"Name at most {PROVIDER_ORDER_MAX} providers, in order.")
    return names


def conversation_create(
    *,
    user: User,
    model: str,
    system_prompt: str = "",
    parameters: dict[str, Any] | None = None,
    routing: dict[str, Any] | None = None,
    web_search: bool = False,
) -> Conversation:
    """Create an empty conversation, for settings chosen before the first message."""
    conversation = Conversation(owner=user, model=model, web_search=web_search)
    apply_routing_defaults(conversation)
    _apply_settings(conversation, model=model, system_prompt=system_prompt, parameters=parameters)
    _apply_routing(conversation, routing or {})
    conversation.save()
    return conversation


def _apply_routing(conversation: Conversation, routing: dict[str, Any]) -> None:
    for name, value in clean_routing(routing).items():
        setattr(conversation, name, value)


def conversation_set_web_search(*, conversation: Conversation, on: bool) -> Conversation:
    conversation.web_search = on
    conversation.save(update_fields=["web_search"])
    return conversation


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = " ".join(title.split())[:TITLE_MAX]
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> int:
    """Delete the conversation with its messages and their attached files; return how many
    files went with it."""
    files = conversation.attachments.count()
    conversation.delete()
    return files


def conversation_update_settings(
    *,
    conversation: Conversation,
    model: str,
    system_prompt: str,
    parameters: dict[str, Any],
    routing: dict[str, Any] | None = None,
) -> Conversation:
    _apply_settings(conversation, model=model, system_prompt=system_prompt, parameters=parameters)
    _apply_routing(conversation, routing or {})
    conversation.save(
        update_fields=["model", "system_prompt", "parameters", *ROUTING_FIELDS, "updated_at"]
    )
    return conversation


def _apply_settings(
    conversation: Conversation,
    *,
    model: str,
    system_prompt: str,
    parameters: dict[str, Any] | None,
) -> None:
    if len(system_prompt) > SYSTEM_PROMPT_MAX:
        raise SettingsError(f"The system prompt is limited to {SYSTEM_PROMPT_MAX:,} characters.")
    conversation.model = model
    conversation.system_prompt = system_prompt.strip()
    conversation.parameters = clean_parameters(model_id=model, raw=parameters or {})
