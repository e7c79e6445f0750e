"""Keys at rest: encrypted, bound to their owner, rotatable."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from chatapp.accounts.crypto import KeyDecryptionError, decrypt_api_key, encrypt_api_key
from chatapp.accounts.keys import key_store, resolve_api_key
from chatapp.accounts.models import OpenRouterKey

ALICE_KEY = "sk-or-v1-" + "a1" * 32
BOB_KEY = "sk-or-v1-" + "b2" * 32


def test_it_round_trips_a_key_for_its_owner():
    token = encrypt_api_key(owner_id=7, api_key=ALICE_KEY)
    assert ALICE_KEY not in token
    assert decrypt_api_key(owner_id=7, ciphertext=token) == ALICE_KEY


def test_it_refuses_a_ciphertext_for_another_owner():
    token = encrypt_api_key(owner_id=7, api_key=ALICE_KEY)
    with pytest.raises(KeyDecryptionError):
        decrypt_api_key(owner_id=8, ciphertext=token)


def test_it_refuses_a_tampered_ciphertext():
    token = encrypt_api_key(owner_id=7, api_key=ALICE_KEY)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(KeyDecryptionError):
        decrypt_api_key(owner_id=7, ciphertext=tampered)


def test_it_refuses_a_ciphertext_copied_to_another_users_row(alice, bob):
    alices = key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    key_store(user=bob, api_key=BOB_KEY, source="pkce")
    OpenRouterKey.objects.filter(user=bob).update(ciphertext=alices.ciphertext)
    assert resolve_api_key(bob) is None
    assert resolve_api_key(alice).api_key == ALICE_KEY


def test_it_reads_keys_written_under_an_older_key_listed_after_the_first():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[old]):
        token = encrypt_api_key(owner_id=1, api_key=ALICE_KEY)
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[new, old]):
        assert decrypt_api_key(owner_id=1, ciphertext=token) == ALICE_KEY
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[new]), pytest.raises(KeyDecryptionError):
        decrypt_api_key(owner_id=1, ciphertext=token)


def test_rotation_reencrypts_every_key_under_the_first_key(alice, bob):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[old]):
        key_store(user=alice, api_key=ALICE_KEY, source="pkce")
        key_store(user=bob, api_key=BOB_KEY, source="pasted")
    before = dict(OpenRouterKey.objects.values_list("user_id", "ciphertext"))
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_encryption_keys", stdout=(out := StringIO()))
    assert "Re-encrypted 2" in out.getvalue()
    after = dict(OpenRouterKey.objects.values_list("user_id", "ciphertext"))
    assert all(after[user] != before[user] for user in before)
    # The old key can now be dropped from the setting.
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[new]):
        assert resolve_api_key(alice).api_key == ALICE_KEY
        assert resolve_api_key(bob).api_key == BOB_KEY


def test_rotation_reports_keys_it_cannot_read_and_leaves_them_alone(alice, bob):
    lost, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[lost]):
        key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    with override_settings(CHATAPP_ENCRYPTION_KEYS=[new]):
        key_store(user=bob, api_key=BOB_KEY, source="pkce")
        unreadable = OpenRouterKey.objects.get(user=alice).ciphertext
        with pytest.raises(CommandError, match=f"user ids: {alice.pk}"):
            call_command("rotate_encryption_keys", stdout=StringIO())
        assert OpenRouterKey.objects.get(user=alice).ciphertext == unreadable
        assert resolve_api_key(bob).api_key == BOB_KEY


def test_rotation_does_not_launder_a_swapped_ciphertext(alice, bob):
    alices = key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    key_store(user=bob, api_key=BOB_KEY, source="pkce")
    OpenRouterKey.objects.filter(user=bob).update(ciphertext=alices.ciphertext)
    with pytest.raises(CommandError, match=f"user ids: {bob.pk}"):
        call_command("rotate_encryption_keys", stdout=StringIO())
    assert resolve_api_key(bob) is None
