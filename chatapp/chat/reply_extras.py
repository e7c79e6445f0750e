"""What a reply brings besides its text and cost: web sources, what the file parser made of the
PDFs it was asked about, and the cache's savings.

The worker hands every Citations, FileAnnotations and Usage event to `extras_recorder(reply)`
(astream_chat's `on_extra`); each is written at once and set on the reply in memory, so the
worker's final frame carries them and a reload shows them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Message
from chatapp.openrouter import Citations, FileAnnotations, Usage

MAX_CITATIONS = 50
Extra = Citations | FileAnnotations | Usage
COST_PLACES = Decimal("1e-20")  # Message.cache_savings keeps 20 places, like Message.cost


def extras_recorder(reply: Message) -> Callable[[Extra], Awaitable[None]]:
    async def record(event: Extra) -> None:
        if isinstance(event, Citations):
            await _arecord_citations(reply, event)
        elif isinstance(event, FileAnnotations):
            reply.file_annotations = [*reply.file_annotations, *event.items]
            await Message.objects.filter(pk=reply.pk).aupdate(
                file_annotations=reply.file_annotations
            )
        elif event.cached_tokens or event.cache_discount:
            await _arecord_savings(reply, event)

    return record


async def _arecord_citations(reply: Message, event: Citations) -> None:
    known = {c["url"] for c in reply.citations}
    fresh = [{"url": c.url, "title": c.title} for c in event.items if c.url not in known]
    if not fresh:
        return
    reply.citations = [*reply.citations, *fresh][:MAX_CITATIONS]
    await Message.objects.filter(pk=reply.pk).aupdate(citations=reply.citations)


async def _arecord_savings(reply: Message, usage: Usage) -> None:
    saved = usage.cache_discount
    if saved is None:
        row = await CatalogModel.objects.filter(model_id=reply.model).afirst()
        saved = cache_savings(usage.cached_tokens, row)
    if saved is None:
        return
    reply.cache_savings = saved = saved.quantize(COST_PLACES)
    await Message.objects.filter(pk=reply.pk).aupdate(cache_savings=saved)


def cache_savings(cached_tokens: int, model: CatalogModel | None) -> Decimal | None:
    """Dollars saved by `cached_tokens` read from the cache instead of sent at full price;
    None when the model has no cache-read price (nothing to compare with)."""
    if model is None or model.prompt_price is None or model.cache_read_price is None:
        return None
    return ((model.prompt_price - model.cache_read_price) * cached_tokens).quantize(COST_PLACES)
