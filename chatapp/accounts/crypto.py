"""Encrypt OpenRouter keys at rest with MultiFernet, each bound to the user who owns it.

Fernet authenticates the whole token, so the owner's id sealed inside it cannot be changed;
a ciphertext copied onto another user's row decrypts to the wrong owner and is refused.
The first key of CHATAPP_ENCRYPTION_KEYS encrypts; every key in the list decrypts.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

_VERSION = 1


class KeyDecryptionError(Exception):
    """The stored key cannot be read: unknown encryption key, tampering, or another owner."""


def _multifernet() -> MultiFernet:
    # Read at call time so rotation (and override_settings in tests) takes effect at once.
    keys = list(settings.CHATAPP_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("CHATAPP_ENCRYPTION_KEYS is empty; keys cannot be stored.")
    return MultiFernet([Fernet(key) for key in keys])


@sensitive_variables()
def encrypt_api_key(*, owner_id: int, api_key: str) -> str:
    """Return a Fernet token that holds the key together with its owner's id."""
    payload = json.dumps({"v": _VERSION, "owner": owner_id, "key": api_key})
    return _multifernet().encrypt(payload.encode()).decode("ascii")


@sensitive_variables()
def decrypt_api_key(*, owner_id: int, ciphertext: str) -> str:
    """Return the key in clear, or raise KeyDecryptionError if it is not this owner's."""
    try:
        payload = json.loads(_multifernet().decrypt(ciphertext.encode("ascii")))
    except (InvalidToken, ValueError, UnicodeError):
        raise KeyDecryptionError("The stored key cannot be decrypted.") from None
    if not isinstance(payload, dict) or payload.get("owner") != owner_id:
        raise KeyDecryptionError("The stored key belongs to another user.")
    key = payload.get("key")
    if not isinstance(key, str) or not key:
        raise KeyDecryptionError("The stored key is malformed.")
    return key


@sensitive_variables()
def reencrypt(*, owner_id: int, ciphertext: str) -> str:
    """Return the same key encrypted under the first (current) encryption key.

    Decrypting first also checks the owner binding, so a swapped blob is never
    laundered into a fresh, valid-looking token by a rotation.
    """
    api_key = decrypt_api_key(owner_id=owner_id, ciphertext=ciphertext)
    return encrypt_api_key(owner_id=owner_id, api_key=api_key)
