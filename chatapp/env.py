"""Read settings from the environment; every bad value stops start-up with a clear message."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


def env_decimal(name: str, default: Decimal | None) -> Decimal | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number of dollars.") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must be zero or more dollars.")
    return value


def env_list(name: str, default: Iterable[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if not all(items):
        raise ImproperlyConfigured(
            f"{name}={raw!r} has an empty item; separate values with commas."
        )
    return items


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    value = env_str(name, default).lower()
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(allowed)}.")
    return value


def env_url(name: str, default: str, *, schemes: Iterable[str] = ("http", "https")) -> str:
    value = env_str(name, default).rstrip("/")
    allowed = tuple(schemes)
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in allowed or not rest:
        prefixes = " or ".join(f"{s}://" for s in allowed)
        raise ImproperlyConfigured(f"{name}={value!r} is not a URL starting with {prefixes}.")
    return value


def env_secret(name: str, *, debug: bool, dev_default: Callable[[], str]) -> str:
    """Return a required secret; only a debug run may fall back to a development value."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if debug:
        return dev_default()
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DJANGO_DEBUG is off; see README 'Settings'."
    )
