"""Which key pays: the user's own valid key, else the operator key where the policy allows."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chatapp.accounts.keys import (
    ResolvedKey,
    akey_mark_invalid,
    aresolve_api_key,
    key_delete,
    key_mark_invalid,
    key_store,
    no_key_reason,
    operator_key_allowed,
    resolve_api_key,
)
from chatapp.accounts.models import OpenRouterKey

ALICE_KEY = "sk-or-v1-" + "a1" * 32
OPERATOR_KEY = "sk-or-v1-" + "0e" * 32


def test_it_resolves_the_users_own_key(alice):
    key_store(user=alice, api_key=ALICE_KEY, source="pasted")
    assert resolve_api_key(alice) == ResolvedKey(api_key=ALICE_KEY, paid_by="user")


def test_it_prefers_the_users_own_key_over_the_operator_key(alice):
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    with override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="all"):
        assert resolve_api_key(alice).paid_by == "user"


def test_it_resolves_nothing_without_a_key_and_with_the_policy_off(alice):
    with override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="off"):
        assert resolve_api_key(alice) is None


def test_it_falls_back_on_the_operator_key_when_the_own_key_was_marked_invalid(alice):
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    key_mark_invalid(user=alice)
    assert resolve_api_key(alice) is None
    with override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="all"):
        assert resolve_api_key(alice) == ResolvedKey(api_key=OPERATOR_KEY, paid_by="operator")


def test_it_makes_a_relinked_key_valid_again(alice):
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    key_mark_invalid(user=alice)
    key_store(user=alice, api_key=ALICE_KEY, source="pasted")
    assert resolve_api_key(alice).paid_by == "user"


def test_it_resolves_nothing_after_disconnect(alice):
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    assert key_delete(user=alice) is True
    assert not OpenRouterKey.objects.filter(user=alice).exists()
    assert resolve_api_key(alice) is None


@pytest.mark.parametrize(
    ("policy", "access", "is_staff", "allowed"),
    [
        ("off", "", False, False),
        ("off", "", True, False),
        ("staff", "", False, False),
        ("staff", "", True, True),
        ("all", "", False, True),
        ("off", "allow", False, True),
        ("staff", "allow", False, True),
        ("all", "deny", False, False),
        ("staff", "deny", True, False),
    ],
)
def test_it_applies_the_site_policy_overridden_per_user(alice, policy, access, is_staff, allowed):
    alice.operator_key_access = access
    alice.is_staff = is_staff
    alice.save()
    with override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY=policy):
        assert operator_key_allowed(alice) is allowed
        resolved = resolve_api_key(alice)
    assert (resolved is not None and resolved.paid_by == "operator") is allowed


def test_it_never_offers_an_operator_key_that_is_not_configured(alice):
    alice.operator_key_access = "allow"
    alice.save()
    with override_settings(OPENROUTER_API_KEY=None, CHATAPP_OPERATOR_KEY_POLICY="all"):
        assert resolve_api_key(alice) is None


def test_it_denies_the_operator_key_to_a_deactivated_user(alice):
    alice.is_active = False
    alice.save()
    with override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="all"):
        assert resolve_api_key(alice) is None


def test_it_keeps_the_key_out_of_the_repr_of_a_resolved_key():
    resolved = ResolvedKey(api_key=ALICE_KEY, paid_by="user")
    assert ALICE_KEY not in repr(resolved)
    assert ALICE_KEY not in str(resolved)


def test_it_tells_the_user_how_to_connect_a_key(alice):
    reason = no_key_reason(alice)
    assert "Connect OpenRouter" in reason
    assert "/accounts/" in reason


def test_it_stores_only_ciphertext_and_a_four_character_hint(alice):
    row = key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    row.refresh_from_db()
    assert ALICE_KEY not in row.ciphertext
    assert "sk-or-v1-" not in row.ciphertext + row.hint
    assert row.hint == "\u2026" + ALICE_KEY[-4:]
    assert row.masked == "sk-or-v1-\u2026" + ALICE_KEY[-4:]


def test_it_scopes_each_key_to_its_owner(alice, bob):
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    assert resolve_api_key(bob) is None


@pytest.mark.django_db(transaction=True)
async def test_it_resolves_and_marks_invalid_from_async_code(alice):
    from chatapp.accounts.keys import akey_store

    await akey_store(user=alice, api_key=ALICE_KEY, source="pkce")
    assert await aresolve_api_key(alice) == ResolvedKey(api_key=ALICE_KEY, paid_by="user")
    await akey_mark_invalid(user=alice)
    assert await aresolve_api_key(alice) is None


def test_a_refusal_of_an_older_key_leaves_a_newly_linked_key_valid(alice):
    """A 401 for a request that started before the user relinked must not condemn the new key."""
    key_store(user=alice, api_key=ALICE_KEY, source="pkce")
    newer = "sk-or-v1-" + "f9" * 32
    key_store(user=alice, api_key=newer, source="pkce")
    key_mark_invalid(user=alice, api_key=ALICE_KEY)
    assert resolve_api_key(alice).api_key == newer
    key_mark_invalid(user=alice, api_key=newer)
    assert resolve_api_key(alice) is None
