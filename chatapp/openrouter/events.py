"""What a streamed chat reply is made of, as typed events (one name for each thing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

# --- what is sent: messages, whose content is text or a list of parts (docs: multimodal) ------


class TextPart(TypedDict):
    type: Literal["text"]
    text: str


class ImageUrl(TypedDict):
    url: str  # a data URL: data:image/png;base64,…


class ImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageUrl


class FileData(TypedDict):
    filename: str
    file_data: str  # a data URL: data:application/pdf;base64,…


class FilePart(TypedDict):
    type: Literal["file"]
    file: FileData


class InputAudio(TypedDict):
    data: str  # base64, no data: prefix
    format: str  # "wav" or "mp3"


class AudioPart(TypedDict):
    type: Literal["input_audio"]
    input_audio: InputAudio


ContentPart = TextPart | ImagePart | FilePart | AudioPart


class ChatMessage(TypedDict):
    role: str
    content: str | list[ContentPart]
    # On an assistant message: the `file` annotations its reply brought back, so that the PDFs
    # before it are not parsed (and paid for) again (docs: "Reusing PDF annotations").
    annotations: NotRequired[list[dict[str, Any]]]


def text_of(content: str | list[ContentPart]) -> str:
    """The text of a message's content (its text parts, joined by blank lines)."""
    if isinstance(content, str):
        return content
    return "\n\n".join(part["text"] for part in content if part["type"] == "text")


# --- what comes back ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContentDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cost: Decimal | None
    # What reading from the prompt cache saved, when OpenRouter reports it (`cache_discount`,
    # top level or under `cost_details`); None when it did not say.
    cache_discount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """One `url_citation` annotation: a source the web search found. Only http(s) URLs."""

    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Citations:
    """The sources a reply cites, in the order they arrived (a chunk may carry several)."""

    items: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class FileAnnotations:
    """The `file` annotations of a reply: what OpenRouter's file parser made of the request's
    PDFs, kept as they came (their inside is OpenRouter's) to be sent back with the reply."""

    items: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str
    generation_id: str
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class StreamError:
    """The stream failed after it started; `message` is a sentence for a person."""

    code: str
    message: str


StreamEvent = (
    ContentDelta | ReasoningDelta | Usage | Citations | FileAnnotations | Finish | StreamError
)


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    """`GET /generation`: what a finished (or cancelled) generation cost."""

    id: str
    total_cost: Decimal | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    provider: str
    model: str
    finish_reason: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """`GET /key`: the limit and spend of an API key, in dollars."""

    label: str
    limit: Decimal | None
    usage: Decimal
    limit_remaining: Decimal | None
    is_free_tier: bool


@dataclass(frozen=True, slots=True)
class ModelEndpoint:
    """One provider serving a model (`GET /models/{author}/{slug}/endpoints`); prices per token."""

    provider: str
    name: str
    context_length: int | None
    max_completion_tokens: int | None
    prompt_price: Decimal | None
    completion_price: Decimal | None
    cache_read_price: Decimal | None
    web_search_price: Decimal | None
    uptime: float | None
    status: int | None
