"""Fixtures: alice's forked conversation (tests/sharing/builders.py) and signed-in clients."""

from __future__ import annotations

import pytest
from django.test import Client

from chatapp.accounts.models import User
from tests.sharing.builders import Forked, forked_conversation, signed_in


@pytest.fixture
def forked(alice: User) -> Forked:
    return forked_conversation(alice)


@pytest.fixture
def alice_client(alice: User) -> Client:
    return signed_in(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return signed_in(bob)
