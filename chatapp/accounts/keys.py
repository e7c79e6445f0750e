"""Which OpenRouter key pays for a user's request, and storing a user's own key.

The contract other apps rely on (see coord COMMON.md): ResolvedKey, resolve_api_key /
aresolve_api_key, key_mark_invalid / akey_mark_invalid and no_key_reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from chatapp.accounts.crypto import (
    KeyDecryptionError,
    decrypt_api_key,
    encrypt_api_key,
    reencrypt,
)
from chatapp.accounts.models import OpenRouterKey, User

logger = logging.getLogger(__name__)

PaidBy = Literal["user", "operator"]
OperatorStatus = Literal["unavailable", "allowed", "denied"]


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    # repr=False: a ResolvedKey in a log line or a traceback must not print the key.
    api_key: str = field(repr=False)
    paid_by: PaidBy


class KeyStats(Protocol):
    """What GET /key tells us (chatapp.openrouter.KeyInfo has these attributes)."""

    @property
    def limit(self) -> Decimal | None: ...
    @property
    def usage(self) -> Decimal: ...
    @property
    def limit_remaining(self) -> Decimal | None: ...
    @property
    def is_free_tier(self) -> bool: ...


# --- operator key policy ----------------------------------------------------------------------


def operator_key_allowed(user: User) -> bool:
    """Return whether this user may fall back on the operator key (OPENROUTER_API_KEY)."""
    if not settings.OPENROUTER_API_KEY or not getattr(user, "is_active", False):
        return False
    access = user.operator_key_access
    if access == User.OperatorKeyAccess.ALLOW:
        return True
    if access == User.OperatorKeyAccess.DENY:
        return False
    policy = settings.CHATAPP_OPERATOR_KEY_POLICY
    return policy == "all" or (policy == "staff" and bool(user.is_staff))


def operator_key_status(user: User) -> OperatorStatus:
    if not settings.OPENROUTER_API_KEY:
        return "unavailable"
    return "allowed" if operator_key_allowed(user) else "denied"


# --- resolution (the contract) ----------------------------------------------------------------


@sensitive_variables()
def _usable_user_key(row: OpenRouterKey | None) -> str | None:
    if row is None:
        return None
    try:
        return decrypt_api_key(owner_id=row.user_id, ciphertext=row.ciphertext)
    except KeyDecryptionError:
        # Lost encryption key or a blob moved between rows: treat as no key, loudly.
        logger.warning("OpenRouter key of user %s cannot be decrypted; ignoring it", row.user_id)
        return None


@sensitive_variables()
def _resolve(user: User, row: OpenRouterKey | None) -> ResolvedKey | None:
    own = _usable_user_key(row)
    if own is not None:
        return ResolvedKey(api_key=own, paid_by="user")
    operator_key: str | None = settings.OPENROUTER_API_KEY
    if operator_key and operator_key_allowed(user):
        return ResolvedKey(api_key=operator_key, paid_by="operator")
    return None


def _valid_key_rows(user: User) -> Any:
    return OpenRouterKey.objects.filter(user_id=user.pk, is_valid=True).only(
        "user_id", "ciphertext"
    )


def resolve_api_key(user: User) -> ResolvedKey | None:
    """Return the user's valid linked key, else the operator key where allowed, else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _resolve(user, _valid_key_rows(user).first())


async def aresolve_api_key(user: User) -> ResolvedKey | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return _resolve(user, await _valid_key_rows(user).afirst())


@sensitive_variables()
async def akey_that_paid(*, user_id: int, paid_by: str) -> str | None:
    """The key a past reply was paid with, to ask OpenRouter what it cost (None: none left)."""
    if paid_by == "operator":
        return settings.OPENROUTER_API_KEY or None
    return _usable_user_key(await OpenRouterKey.objects.filter(user_id=user_id).afirst())


@sensitive_variables()
def _is_same_key(row: OpenRouterKey, api_key: str | None) -> bool:
    return api_key is None or _usable_user_key(row) == api_key


@sensitive_variables()
def key_mark_invalid(*, user: User, api_key: str | None = None) -> None:
    """Record that OpenRouter refused the user's own key (a 401), until they link one again.

    Pass the refused api_key where known: a key linked while the refused request was in
    flight is then left valid.
    """
    row = OpenRouterKey.objects.filter(user_id=user.pk).first()
    if row is not None and _is_same_key(row, api_key):
        OpenRouterKey.objects.filter(pk=row.pk).update(is_valid=False, updated_at=timezone.now())


@sensitive_variables()
async def akey_mark_invalid(*, user: User, api_key: str | None = None) -> None:
    row = await OpenRouterKey.objects.filter(user_id=user.pk).afirst()
    if row is not None and _is_same_key(row, api_key):
        await OpenRouterKey.objects.filter(pk=row.pk).aupdate(
            is_valid=False, updated_at=timezone.now()
        )


def no_key_reason(user: User) -> str:
    """Return the sentence shown instead of sending when no key can pay for a request.

    Reads no database, so the websocket consumer may call it from async code.
    """
    return (
        "You need an OpenRouter key to chat. Open your Account page (/accounts/) and choose "
        "\u201cConnect OpenRouter\u201d; if you connected before, OpenRouter no longer accepts "
        "that key, so connect again."
    )


# --- storing the user's own key ---------------------------------------------------------------


def key_hint(api_key: str) -> str:
    """Return the stored hint: the last four characters (see OpenRouterKey.masked)."""
    return "\u2026" + api_key[-4:]


def _stats_fields(info: KeyStats | None) -> dict[str, Any]:
    if info is None:
        return {"limit": None, "usage": None, "limit_remaining": None, "checked_at": None}
    return {
        "limit": info.limit,
        "usage": info.usage,
        "limit_remaining": info.limit_remaining,
        "is_free_tier": info.is_free_tier,
        "checked_at": timezone.now(),
    }


@sensitive_variables()
def _store_fields(
    *, user: User, api_key: str, source: str, info: KeyStats | None
) -> dict[str, Any]:
    return {
        "ciphertext": encrypt_api_key(owner_id=user.pk, api_key=api_key),
        "hint": key_hint(api_key),
        "source": source,
        "is_valid": True,
        # A relinked key replaces the row's contents: it is a new key from now on.
        "created_at": timezone.now(),
        **_stats_fields(info),
    }


@sensitive_variables()
def key_store(
    *, user: User, api_key: str, source: str, info: KeyStats | None = None
) -> OpenRouterKey:
    """Encrypt and save the user's key, replacing any key they had."""
    fields = _store_fields(user=user, api_key=api_key, source=source, info=info)
    row, _ = OpenRouterKey.objects.update_or_create(user_id=user.pk, defaults=fields)
    return row


@sensitive_variables()
async def akey_store(
    *, user: User, api_key: str, source: str, info: KeyStats | None = None
) -> OpenRouterKey:
    fields = _store_fields(user=user, api_key=api_key, source=source, info=info)
    row, _ = await OpenRouterKey.objects.aupdate_or_create(user_id=user.pk, defaults=fields)
    return row


def key_delete(*, user: User) -> bool:
    """Delete the user's key (its ciphertext with it); return whether there was one."""
    deleted, _ = OpenRouterKey.objects.filter(user_id=user.pk).delete()
    return deleted > 0


async def akey_delete(*, user: User) -> bool:
    deleted, _ = await OpenRouterKey.objects.filter(user_id=user.pk).adelete()
    return deleted > 0


async def akey_record_stats(*, key: OpenRouterKey, info: KeyStats) -> OpenRouterKey:
    for name, value in _stats_fields(info).items():
        setattr(key, name, value)
    key.is_valid = True
    await key.asave(
        update_fields=[
            "limit",
            "usage",
            "limit_remaining",
            "is_free_tier",
            "checked_at",
            "is_valid",
            "updated_at",
        ]
    )
    return key


@sensitive_variables()
def key_for_owner(key: OpenRouterKey) -> str:
    """Return the key in clear for a server-side call; raises KeyDecryptionError."""
    return decrypt_api_key(owner_id=key.user_id, ciphertext=key.ciphertext)


@dataclass(frozen=True, slots=True)
class RotationResult:
    rotated: int
    unreadable: list[int]


def _key_rotate_one(pk: int) -> bool:
    with transaction.atomic():
        # Locked so that a user relinking at the same moment is not overwritten by an old key.
        row = OpenRouterKey.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return True
        try:
            row.ciphertext = reencrypt(owner_id=row.user_id, ciphertext=row.ciphertext)
        except KeyDecryptionError:
            return False
        row.save(update_fields=["ciphertext"])
        return True


def key_rotate_all() -> RotationResult:
    """Re-encrypt every stored key under the first encryption key, one row at a time."""
    rotated, unreadable = 0, []
    for pk, user_id in OpenRouterKey.objects.order_by("pk").values_list("pk", "user_id"):
        if _key_rotate_one(pk):
            rotated += 1
        else:
            unreadable.append(user_id)
    return RotationResult(rotated=rotated, unreadable=unreadable)
