"""What the next message will cost, worked out before it is sent (shown next to Send).

The input is the history that would really go upstream (chat/requests.py fits it to the
model exactly as a send does), priced per token:

    input  = (tokens − cached) × prompt price + cached × cache-read price
    output = up to max_tokens (else the model's max completion tokens, else what is left of
             the context window) × completion price
    + the model's price per request, + the web search when it is on

"cached" is the part that was sent with the previous reply (everything up to the question it
answered), when the model has a cache-read price: the provider's prompt cache usually holds it,
but not always, so the figure is an estimate and is labelled one. Tokens are estimated as in
chat/context.py. After the reply, its cost of record (OpenRouter's figure) replaces this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings

from chatapp.accounts.models import User
from chatapp.attachments.models import Attachment
from chatapp.attachments.parts import content_with
from chatapp.catalog.models import CatalogModel
from chatapp.chat.context import estimate_message_tokens
from chatapp.chat.models import Conversation
from chatapp.chat.requests import (
    DoesNotFit,
    ModelCannotRead,
    apply_routing_defaults,
    request_plan,
)
from chatapp.chat.services import branch_history
from chatapp.openrouter import WEB_PLUGIN_PRICE_PER_RESULT, ChatMessage
from chatapp.usage.budgets import budget_status

ZERO = Decimal(0)


@dataclass(frozen=True)
class CostEstimate:
    model: str
    input_tokens: int
    cached_tokens: int
    input_cost: Decimal
    output_tokens: int  # the most the reply may use
    output_cost: Decimal  # "up to"
    request_cost: Decimal
    web_search_cost: Decimal
    omitted: int  # older messages that would be left out
    prices_known: bool
    refusal: str = ""  # set when nothing fits: the sentence a send would be refused with
    budget_remaining: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The most the message can cost: input, request and web search, and all the output."""
        return self.input_cost + self.request_cost + self.web_search_cost + self.output_cost

    @property
    def over_budget(self) -> bool:
        return self.budget_remaining is not None and self.total > self.budget_remaining


def cost_estimate(
    *,
    conversation: Conversation | None,
    owner: User,
    model_id: str,
    parent_id: int | None,
    draft: str,
    web_search: bool | None = None,
    attachments: Sequence[Attachment] = (),
) -> CostEstimate:
    """Estimate what sending `draft` (with `attachments`) after message `parent_id` would cost
    with `model_id`."""
    if conversation is None:  # a new chat: what the first message of one would be sent with
        conversation = Conversation(owner=owner, model=model_id)
        apply_routing_defaults(conversation)
    if web_search is not None:
        conversation.web_search = web_search
    history = (
        branch_history(conversation=conversation, leaf_id=parent_id) if conversation.pk else []
    )
    if not conversation.pk and conversation.system_prompt:
        history.insert(0, {"role": "system", "content": conversation.system_prompt})
    history.append({"role": "user", "content": content_with(draft, attachments)})
    try:
        plan = request_plan(conversation=conversation, model_id=model_id, history=history)
    except (DoesNotFit, ModelCannotRead) as refusal:
        return CostEstimate(model_id, 0, 0, ZERO, 0, ZERO, ZERO, ZERO, 0, False, refusal.message)
    row = plan.model
    cached = _cached_tokens(plan.messages, row) if plan.omitted == 0 else 0
    output = _output_tokens(conversation, row, plan.tokens)
    return CostEstimate(
        model=model_id,
        input_tokens=plan.tokens,
        cached_tokens=cached,
        input_cost=_input_cost(row, plan.tokens, cached),
        output_tokens=output,
        output_cost=_price(row, "completion_price") * output,
        request_cost=_price(row, "request_price"),
        web_search_cost=_web_search_cost(row) if plan.options.web_results else ZERO,
        omitted=plan.omitted,
        prices_known=row is not None
        and row.prompt_price is not None
        and row.completion_price is not None,
    )


def _price(row: CatalogModel | None, name: str) -> Decimal:
    value = getattr(row, name, None) if row is not None else None
    return value if value is not None else ZERO


def _cached_tokens(sent: list[ChatMessage], row: CatalogModel | None) -> int:
    """Tokens of what the previous request already sent: up to the last reply, exclusive."""
    if row is None or row.cache_read_price is None:
        return 0
    last_reply = max((i for i, m in enumerate(sent) if m["role"] == "assistant"), default=None)
    if last_reply is None:
        return 0
    return sum(estimate_message_tokens(m) for m in sent[:last_reply])


def _input_cost(row: CatalogModel | None, tokens: int, cached: int) -> Decimal:
    full = _price(row, "prompt_price") * (tokens - cached)
    return full + _price(row, "cache_read_price") * cached


def _output_tokens(conversation: Conversation, row: CatalogModel | None, prompt: int) -> int:
    asked = conversation.parameters.get("max_tokens") if conversation.parameters else None
    room = row.context_length - prompt if row is not None and row.context_length else None
    most = int(asked) if asked else (row.max_completion_tokens if row is not None else None)
    if most is None:
        return max(0, room or 0)
    return max(0, min(most, room)) if room is not None else most


def _web_search_cost(row: CatalogModel | None) -> Decimal:
    """The model's own price per search, else the web plugin's price for its results."""
    native = _price(row, "web_search_price")
    if native:
        return native
    return WEB_PLUGIN_PRICE_PER_RESULT * settings.CHATAPP_WEB_SEARCH_MAX_RESULTS


def with_budget(estimate: CostEstimate, *, user: User, paid_by: str | None) -> CostEstimate:
    """Add what is left of the payer's monthly budget (None when there is no budget)."""
    if paid_by is None:
        return estimate
    status = budget_status(user=user, paid_by=paid_by)
    if status is None:
        return estimate
    remaining = max(ZERO, status.budget - status.spent)
    return replace(estimate, budget_remaining=remaining)


def estimate_data(estimate: CostEstimate) -> dict[str, Any]:
    """The wire form for the page: money as decimal strings, never floats."""

    def usd(value: Decimal) -> str:
        return format(value.normalize(), "f") if value else "0"

    return {
        "model": estimate.model,
        "input_tokens": estimate.input_tokens,
        "cached_tokens": estimate.cached_tokens,
        "input_cost": usd(estimate.input_cost),
        "output_tokens": estimate.output_tokens,
        "output_cost": usd(estimate.output_cost),
        "request_cost": usd(estimate.request_cost),
        "web_search_cost": usd(estimate.web_search_cost),
        "total": usd(estimate.total),
        # For the page: two significant digits, the "up to" figures rounded up, never down.
        # "≈" is what the message costs however short the answer: input, request, web search.
        "input_text": usd_rough(
            estimate.input_cost + estimate.request_cost + estimate.web_search_cost
        ),
        "output_text": usd_rough(estimate.output_cost, up=True),
        "web_search_text": usd_rough(estimate.web_search_cost, up=True),
        "total_text": usd_rough(estimate.total, up=True),
        "omitted": estimate.omitted,
        "prices_known": estimate.prices_known,
        "refusal": estimate.refusal,
        "budget_remaining": None
        if estimate.budget_remaining is None
        else usd(estimate.budget_remaining),
        "budget_remaining_text": None
        if estimate.budget_remaining is None
        else usd_rough(estimate.budget_remaining),
        "over_budget": estimate.over_budget,
    }


def usd_rough(value: Decimal, *, up: bool = False) -> str:
    """Dollars to two significant digits (cents at least): 0.0001975 → "0.0002", 12.5 → "12.50"."""
    if not value:
        return "0"
    rounding = ROUND_CEILING if up else ROUND_HALF_UP
    if value >= 1:
        return str(value.quantize(Decimal("0.01"), rounding=rounding))
    places = Decimal(1).scaleb(value.adjusted() - 1)  # two significant digits
    rough = value.quantize(max(places, Decimal("1e-10")), rounding=rounding)
    text = format(rough.normalize(), "f")
    return text if len(text.partition(".")[2]) >= 2 else f"{rough:.2f}"
