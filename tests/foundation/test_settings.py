from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatapp import env

ROOT = Path(__file__).resolve().parents[2]


def start_django(**environ: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHATAPP_"))}
    clean.update(environ, DJANGO_SETTINGS_MODULE="chatapp.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please"])
def test_env_bool_rejects_a_value_that_is_not_a_boolean(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env.env_bool("X_FLAG", False)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("On", True), ("0", False), ("no", False)]
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG", not expected) is expected


def test_env_list_rejects_an_empty_item(monkeypatch):
    monkeypatch.setenv("X_HOSTS", "a.example,,b.example")
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env.env_list("X_HOSTS", [])


def test_env_choice_rejects_an_unknown_policy(monkeypatch):
    monkeypatch.setenv("X_POLICY", "everyone")
    with pytest.raises(ImproperlyConfigured, match="off, staff, all"):
        env.env_choice("X_POLICY", "off", ("off", "staff", "all"))


def test_env_decimal_rejects_a_negative_budget(monkeypatch):
    monkeypatch.setenv("X_BUDGET", "-5")
    with pytest.raises(ImproperlyConfigured, match="zero or more"):
        env.env_decimal("X_BUDGET", None)
    monkeypatch.setenv("X_BUDGET", "12.50")
    assert env.env_decimal("X_BUDGET", None) == Decimal("12.50")


def test_env_url_rejects_a_url_without_scheme(monkeypatch):
    monkeypatch.setenv("X_URL", "openrouter.ai/api/v1")
    with pytest.raises(ImproperlyConfigured, match="X_URL"):
        env.env_url("X_URL", "https://x")


def test_startup_without_secret_key_fails_when_debug_is_off():
    result = start_django(DJANGO_DEBUG="false", CHATAPP_ENCRYPTION_KEYS="x" * 43 + "=")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_startup_without_encryption_keys_fails_when_debug_is_off():
    result = start_django(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "CHATAPP_ENCRYPTION_KEYS is not set" in result.stderr


def test_startup_with_a_malformed_encryption_key_names_the_bad_item():
    good = "A" * 43 + "="
    result = start_django(DJANGO_SECRET_KEY="s" * 50, CHATAPP_ENCRYPTION_KEYS=f"{good},not-a-key")
    assert result.returncode != 0
    assert "CHATAPP_ENCRYPTION_KEYS item 2 is not a Fernet key" in result.stderr


def test_startup_with_a_bad_boolean_names_the_variable():
    result = start_django(DJANGO_DEBUG="perhaps")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='perhaps' is not a boolean" in result.stderr


def test_startup_in_debug_needs_no_secrets():
    result = start_django(DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_deploy_check_is_clean_for_a_production_configuration():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHATAPP_"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="chatapp.settings",
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-with-enough-entropy-1234567890",
        CHATAPP_ENCRYPTION_KEYS="A" * 43 + "=",
        CHATAPP_SITE_URL="https://chat.example.com",
        DJANGO_ALLOWED_HOSTS="chat.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
