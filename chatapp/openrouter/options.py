"""What a chat request may ask of OpenRouter besides the messages: routing, web, transforms.

Typed here so that the request body is built in one place (`ChatOptions.body()`), with only
the keys that differ from OpenRouter's defaults, exactly as the docs spell them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

ProviderSort = Literal["price", "throughput", "latency"]
PROVIDER_SORTS: tuple[ProviderSort, ...] = ("price", "throughput", "latency")
# OpenRouter's web plugin takes 1 to 10 results (its default is 5).
WEB_RESULTS_MIN, WEB_RESULTS_MAX = 1, 10
# The web plugin's price for a model without a web_search price of its own: OpenRouter
# charges $4 per 1,000 results (its pricing page; the docs here give only the field).
WEB_PLUGIN_PRICE_PER_RESULT = Decimal("0.004")


@dataclass(frozen=True, slots=True)
class ProviderPreferences:
    """The documented `provider` object. Defaults are OpenRouter's: balance by price and
    uptime, fall back to other providers, allow providers that may store data."""

    sort: ProviderSort | None = None
    order: tuple[str, ...] = ()
    allow_fallbacks: bool = True
    deny_data_collection: bool = False

    def body(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.sort:
            found["sort"] = self.sort
        if self.order:
            found["order"] = list(self.order)
        if not self.allow_fallbacks:
            found["allow_fallbacks"] = False
        if self.deny_data_collection:
            found["data_collection"] = "deny"
        return found


@dataclass(frozen=True, slots=True)
class ChatOptions:
    provider: ProviderPreferences = field(default_factory=ProviderPreferences)
    # None: no web search; otherwise the `web` plugin with this many results.
    web_results: int | None = None
    middle_out: bool = False
    # The file-parser plugin's pdf.engine ("pdf-text", "mistral-ocr", "native"); None: no
    # plugin, OpenRouter's own choice. Set only for requests that carry a PDF.
    pdf_engine: str | None = None

    def body(self) -> dict[str, Any]:
        """The keys these options add to a /chat/completions body (none when all default)."""
        found: dict[str, Any] = {}
        if provider := self.provider.body():
            found["provider"] = provider
        plugins: list[dict[str, Any]] = []
        if self.web_results is not None:
            plugins.append({"id": "web", "max_results": self.web_results})
        if self.pdf_engine:
            plugins.append({"id": "file-parser", "pdf": {"engine": self.pdf_engine}})
        if plugins:
            found["plugins"] = plugins
        if self.middle_out:
            found["transforms"] = ["middle-out"]
        return found
