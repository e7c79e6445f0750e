"""Every test here is an engine test: it gets tests/chat/engine.py's clean-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.chat.engine import stop_engine


@pytest.fixture(autouse=True)
def _engine(engine_tests: None) -> None:  # see engine_tests
    pass


@pytest.fixture
async def fake_openrouter(fake_openrouter: Any) -> AsyncIterator[Any]:
    """The stand-in, outliving every worker that talks to it (they stop first)."""
    yield fake_openrouter
    await stop_engine()
