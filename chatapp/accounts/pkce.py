"""Link a user's OpenRouter key with OAuth PKCE (RFC 7636, S256 only; RFC 9700 practices).

start:    a fresh verifier and state; the verifier, state, user id and expiry go into the
          session (server side), a PkceFlow row holds the state's digest; the browser goes to
          OPENROUTER_AUTH_URL with the S256 challenge and a callback URL built from
          CHATAPP_SITE_URL (never from the request's Host header).
callback: the state must match this session's pending flow for this user, unexpired; the row
          is claimed with a conditional DELETE before the code is exchanged, so a replayed or
          concurrent callback stores at most one key. Any failure stores nothing.

The code, the verifier and the key are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from chatapp import openrouter
from chatapp.accounts.keys import akey_store
from chatapp.accounts.models import OpenRouterKey, PkceFlow, User

logger = logging.getLogger(__name__)

SESSION_KEY = "openrouter_pkce"
FLOW_LIFETIME = timedelta(minutes=10)
# 32 random bytes -> 43 base64url characters, the RFC 7636 section 4.1 recommendation.
VERIFIER_BYTES = 32
STATE_BYTES = 32
# One per browser the user may be connecting from at once; a new start beyond it drops the oldest.
MAX_PENDING_PER_USER = 5

START_AGAIN = "Nothing was saved. Choose \u201cConnect OpenRouter\u201d to try again."


class PkceFailure(Exception):
    """The callback cannot link a key. `message` says what happened and what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class PkceStart:
    authorize_url: str
    # Goes into request.session[SESSION_KEY]; the verifier never leaves the server.
    session_data: dict[str, Any]


def new_code_verifier() -> str:
    return secrets.token_urlsafe(VERIFIER_BYTES)


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def callback_url(state: str) -> str:
    # From the configured site URL only: a spoofed Host header cannot redirect the code.
    path = reverse("openrouter_callback")
    return f"{settings.CHATAPP_SITE_URL}{path}?{urlencode({'state': state})}"


def authorize_url(*, state: str, challenge: str) -> str:
    query = urlencode(
        {
            "callback_url": callback_url(state),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.OPENROUTER_AUTH_URL}?{query}"


async def _aprune(*, user: User, now: datetime) -> None:
    """Drop expired flows, and this user's oldest ones beyond MAX_PENDING_PER_USER."""
    await PkceFlow.objects.filter(expires_at__lte=now).adelete()
    newest = PkceFlow.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
    surplus = [pk async for pk in newest.values_list("pk", flat=True)[MAX_PENDING_PER_USER - 1 :]]
    if surplus:
        await PkceFlow.objects.filter(pk__in=surplus).adelete()


@sensitive_variables()
async def apkce_start(*, user: User) -> PkceStart:
    """Begin a flow for user: record it and return where to send the browser."""
    verifier, state = new_code_verifier(), secrets.token_urlsafe(STATE_BYTES)
    now = timezone.now()
    expires_at = now + FLOW_LIFETIME
    await _aprune(user=user, now=now)
    await PkceFlow.objects.acreate(
        user_id=user.pk, state_digest=state_digest(state), expires_at=expires_at
    )
    data = {
        "state": state,
        "verifier": verifier,
        "user_id": user.pk,
        "expires_at": expires_at.timestamp(),
    }
    return PkceStart(authorize_url(state=state, challenge=code_challenge(verifier)), data)


def pending_matches(pending: Any, *, user: User, state: str) -> bool:
    """Return whether the session's pending flow is this user's and carries this state."""
    if not isinstance(pending, dict) or not state:
        return False
    expected = str(pending.get("state", ""))
    return pending.get("user_id") == user.pk and hmac.compare_digest(
        expected.encode(), state.encode()
    )


def _check_pending(pending: Any, *, user: User, state: str) -> None:
    if not pending_matches(pending, user=user, state=state):
        raise PkceFailure(
            "state_mismatch",
            "This OpenRouter connection could not be verified: it was not started from this "
            f"browser session, or it was already completed. {START_AGAIN}",
        )
    if float(pending.get("expires_at", 0)) <= time.time():
        raise PkceFailure(
            "expired",
            f"The connection request expired (it is valid for 10 minutes). {START_AGAIN}",
        )


async def _aclaim(*, user: User, state: str) -> None:
    """Delete the flow's row; only the one request whose DELETE removed it may go on."""
    deleted, _ = await PkceFlow.objects.filter(
        user_id=user.pk, state_digest=state_digest(state), expires_at__gt=timezone.now()
    ).adelete()
    if not deleted:
        raise PkceFailure(
            "already_used",
            "This OpenRouter connection was already completed or has expired; "
            "nothing more was saved.",
        )


def _exchange_failure(exc: openrouter.OpenRouterError) -> PkceFailure:
    if isinstance(exc, openrouter.ConnectionFailed | openrouter.RequestTimeout):
        return PkceFailure(
            "unreachable",
            "OpenRouter did not answer in time while finishing the connection. Nothing was "
            "saved. Try again in a moment, or paste a key below.",
        )
    if exc.status is not None and exc.status >= 500:
        return PkceFailure(
            "upstream_error",
            f"OpenRouter had a problem finishing the connection (error {exc.status}). Nothing "
            "was saved. Try again in a few minutes, or paste a key below.",
        )
    return PkceFailure(
        "code_refused",
        "OpenRouter refused the authorisation code (it expires quickly and works only once). "
        f"{START_AGAIN}",
    )


@sensitive_variables()
async def _aexchange(*, code: str, verifier: str) -> str:
    if not code:
        raise PkceFailure(
            "no_code",
            "OpenRouter sent you back without an authorisation code (was the request "
            f"cancelled?). {START_AGAIN}",
        )
    try:
        api_key = await openrouter.aexchange_code(code=code, code_verifier=verifier)
    except openrouter.OpenRouterError as exc:
        raise _exchange_failure(exc) from None
    if not api_key.strip() or any(ch.isspace() for ch in api_key):
        raise PkceFailure("bad_key", f"OpenRouter answered without a usable key. {START_AGAIN}")
    return api_key


@sensitive_variables()
async def akey_info(api_key: str) -> openrouter.KeyInfo | None:
    """Return GET /key for a fresh key; None if OpenRouter cannot say right now."""
    try:
        return await openrouter.aget_key(api_key=api_key)
    except openrouter.InvalidKey:
        raise
    except openrouter.OpenRouterError:
        return None


@sensitive_variables()
async def apkce_complete(*, user: User, pending: Any, state: str, code: str) -> OpenRouterKey:
    """Finish a flow: check, claim, exchange, store. Raises PkceFailure, storing nothing."""
    _check_pending(pending, user=user, state=state)
    await _aclaim(user=user, state=state)
    api_key = await _aexchange(code=code, verifier=str(pending["verifier"]))
    try:
        info = await akey_info(api_key)
    except openrouter.InvalidKey:
        raise PkceFailure(
            "key_refused", f"OpenRouter refused the key it had just issued. {START_AGAIN}"
        ) from None
    row = await akey_store(user=user, api_key=api_key, source=OpenRouterKey.Source.PKCE, info=info)
    logger.info("User %s connected an OpenRouter key with PKCE", user.pk)
    return row


def split_callback_query(state: str, code: str) -> tuple[str, str]:
    """Return (state, code), also when the code was appended with a second "?".

    Our callback URL already has a query (?state=…); an authorisation server that appends
    "?code=…" instead of "&code=…" leaves the code inside the state parameter.
    """
    if not code and "?code=" in state:
        state, _, code = state.partition("?code=")
    return state, code
