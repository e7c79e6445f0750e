"""Without encryption keys, a production start-up refuses to run rather than store keys badly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from chatapp.accounts.crypto import encrypt_api_key

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 50


def manage_check(**environ: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHATAPP_"))}
    clean.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_encryption_keys_when_debug_is_off():
    result = manage_check(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET)
    assert result.returncode != 0
    assert "CHATAPP_ENCRYPTION_KEYS is not set" in result.stderr


def test_it_refuses_to_start_with_a_key_that_is_not_a_fernet_key():
    good = Fernet.generate_key().decode()
    result = manage_check(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET, CHATAPP_ENCRYPTION_KEYS=f"{good},oops"
    )
    assert result.returncode != 0
    assert "CHATAPP_ENCRYPTION_KEYS item 2 is not a Fernet key" in result.stderr


def test_it_starts_with_keys_configured():
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    result = manage_check(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET, CHATAPP_ENCRYPTION_KEYS=keys
    )
    assert result.returncode == 0, result.stderr


@override_settings(CHATAPP_ENCRYPTION_KEYS=[])
def test_it_refuses_to_encrypt_with_no_key_at_all():
    with pytest.raises(ImproperlyConfigured, match="CHATAPP_ENCRYPTION_KEYS"):
        encrypt_api_key(owner_id=1, api_key="sk-or-v1-" + "a" * 64)
