"""Fitting a branch's history into the model's context window, before anything is sent.

Tokens are estimated, not counted: every model has its own tokenizer and OpenRouter does not
expose them. The estimate is deliberately a little generous, so that what we send fits:

    tokens(message) = ceil(characters / 4) + 4        (4: the role and separators)
    tokens(request) = sum over messages + 3           (3: the priming of the reply)

Attachments are estimated by kind: an image as IMAGE_TOKENS (what a 1-megapixel image costs on
the usual vision models), a PDF as a fiftieth of its base64 length (about what its text
comes to), audio as a thousandth of it (about 30 tokens a second of a typical recording).

Four characters per token is the usual figure for English with GPT-, Llama- and Claude-style
tokenizers; code and other scripts use more tokens per character, which is why the output
reserve below is generous too. OpenRouter's own count is the record (the reply's usage).

What is kept: every system message, then the newest turns that fit, oldest dropped first. A kept
history never starts with an assistant turn (some providers refuse that), and the newest user
message is always kept — when even it does not fit, the request is refused with a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatapp.openrouter import ChatMessage, ContentPart

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3
# Without max_tokens, this share of the window is kept free for the answer (at most the
# model's max completion tokens).
OUTPUT_SHARE = 4


IMAGE_TOKENS = 1_500
PDF_CHARS_PER_TOKEN = 50
AUDIO_CHARS_PER_TOKEN = 1_000


def estimate_message_tokens(message: ChatMessage) -> int:
    content = message["content"]
    if isinstance(content, str):
        return math.ceil(len(content) / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE
    return sum(_part_tokens(part) for part in content) + TOKENS_PER_MESSAGE


def _part_tokens(part: ContentPart) -> int:
    if part["type"] == "text":
        return math.ceil(len(part["text"]) / CHARS_PER_TOKEN)
    if part["type"] == "image_url":
        return IMAGE_TOKENS
    if part["type"] == "file":
        return math.ceil(len(part["file"]["file_data"]) / PDF_CHARS_PER_TOKEN)
    return math.ceil(len(part["input_audio"]["data"]) / AUDIO_CHARS_PER_TOKEN)


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """Estimate the prompt tokens of a request made of `messages` (see the module docstring)."""
    return sum(estimate_message_tokens(m) for m in messages) + TOKENS_PER_REPLY


def output_reserve(
    *, context_length: int, max_tokens: int | None, max_completion_tokens: int | None
) -> int:
    """Tokens kept free for the answer: max_tokens when set, else a quarter of the window."""
    if max_tokens:
        return max_tokens
    share = context_length // OUTPUT_SHARE
    return min(share, max_completion_tokens) if max_completion_tokens else share


@dataclass(frozen=True)
class Fitted:
    messages: list[ChatMessage]
    omitted: int  # user and assistant messages left out
    tokens: int  # the estimate for `messages`


class DoesNotFit(Exception):
    """Even the system prompt and the newest message do not fit; `message` says so."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def fit_history(
    history: list[ChatMessage],
    *,
    context_length: int | None,
    reserve: int,
    model_name: str,
    middle_out: bool = False,
) -> Fitted:
    """Return the part of `history` that fits in `context_length` minus `reserve` tokens.

    With `middle_out`, nothing is left out here: OpenRouter's transform squeezes the middle
    itself. Either way, raise DoesNotFit when the system prompt and the newest message alone
    are too long.
    """
    if not context_length:
        return Fitted(history, 0, estimate_tokens(history))
    budget = context_length - reserve
    system = [m for m in history if m["role"] == "system"]
    turns = [m for m in history if m["role"] != "system"]
    needed = estimate_tokens([*system, *turns[-1:]])
    if needed > budget:
        raise DoesNotFit(_too_long(needed, context_length, reserve, model_name))
    if middle_out:
        return Fitted(history, 0, estimate_tokens(history))
    kept = _newest_that_fit(turns, budget - estimate_tokens(system))
    return Fitted([*system, *kept], len(turns) - len(kept), estimate_tokens([*system, *kept]))


def _newest_that_fit(turns: list[ChatMessage], budget: int) -> list[ChatMessage]:
    used = 0
    start = len(turns)
    for index in range(len(turns) - 1, -1, -1):
        used += estimate_message_tokens(turns[index])
        if used > budget:
            break
        start = index
    while start < len(turns) - 1 and turns[start]["role"] == "assistant":
        start += 1  # begin with a question, not with an answer to a question left out
    return turns[start:]


def _too_long(needed: int, context_length: int, reserve: int, model_name: str) -> str:
    return (
        f"This message is too long for {model_name}: with the system prompt it comes to about "
        f"{needed:,} tokens, and the model takes {context_length:,} in all, {reserve:,} of them "
        "kept for its answer. Shorten the message or the system prompt, lower Max tokens, "
        "or pick a model with a longer context."
    )
