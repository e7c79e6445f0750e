"""Typed errors for everything OpenRouter can refuse before a reply starts streaming."""

from __future__ import annotations

from typing import Any, ClassVar


class OpenRouterError(Exception):
    """OpenRouter refused or failed a request. `message` is a sentence a person understands."""

    status: ClassVar[int | None] = None
    code: ClassVar[str] = "upstream_error"
    sentence: ClassVar[str] = "OpenRouter answered with an unexpected error. Try again later."

    def __init__(
        self, detail: str = "", *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.detail = detail
        self.retry_after = retry_after
        if status is not None:
            self.status = status  # type: ignore[misc]  # instance value for unknown statuses
        self.message = self._message()
        super().__init__(self.message)

    def _message(self) -> str:
        if self.detail and self.show_detail:
            return f"{self.sentence} (OpenRouter said: {self.detail})"
        return self.sentence

    # Upstream wording helps for invalid requests and moderation; for the others it is noise.
    show_detail: ClassVar[bool] = False


class BadRequest(OpenRouterError):
    status = 400
    code = "bad_request"
    sentence = "OpenRouter rejected the request as invalid. Check the model and its settings."
    show_detail = True


class InvalidKey(OpenRouterError):
    status = 401
    code = "invalid_key"
    sentence = (
        "OpenRouter did not accept the API key: it is invalid, expired or disabled. "
        "Connect your OpenRouter account again on the Account page."
    )


class InsufficientCredits(OpenRouterError):
    status = 402
    code = "insufficient_credits"
    sentence = (
        "The OpenRouter account has run out of credits for this request. "
        "Add credits at openrouter.ai or pick a free model."
    )


class Moderated(OpenRouterError):
    status = 403
    code = "moderated"
    sentence = (
        "The model's moderation flagged the message, so OpenRouter refused it. "
        "Rephrase it or choose another model."
    )
    show_detail = True


class RequestTimeout(OpenRouterError):
    status = 408
    code = "timeout"
    sentence = "OpenRouter took too long to answer. Try again in a moment."


class RateLimited(OpenRouterError):
    status = 429
    code = "rate_limited"
    sentence = "OpenRouter is rate-limiting requests right now. Wait a moment and try again."

    def _message(self) -> str:
        if self.retry_after:
            return (
                "OpenRouter is rate-limiting requests right now. "
                f"Try again in about {max(1, round(self.retry_after))} seconds."
            )
        return self.sentence


class ProviderError(OpenRouterError):
    status = 502
    code = "provider_error"
    sentence = (
        "The model's provider is down or sent an invalid response. "
        "Try again, or pick another model."
    )


class Unavailable(OpenRouterError):
    status = 503
    code = "unavailable"
    sentence = "No provider can serve this model right now. Try again later, or pick another model."


class ConnectionFailed(OpenRouterError):
    code = "connection_failed"
    sentence = (
        "Could not reach OpenRouter. Check the server's network connection "
        "and try again in a moment."
    )


BY_STATUS: dict[int, type[OpenRouterError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        InvalidKey,
        InsufficientCredits,
        Moderated,
        RequestTimeout,
        RateLimited,
        ProviderError,
        Unavailable,
    )
}

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503})


def error_for_status(
    status: int, body: Any, *, retry_after: float | None = None
) -> OpenRouterError:
    """Turn an HTTP error status and its `{"error": {...}}` body into a typed error."""
    detail = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        detail = str(body["error"].get("message") or "")[:300]
    cls = BY_STATUS.get(status)
    if cls is None:
        return OpenRouterError(detail, status=status, retry_after=retry_after)
    return cls(detail, retry_after=retry_after)
