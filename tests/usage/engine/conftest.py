"""The engine's fixtures (signed-in sockets, the stand-in, the operator key, clean-up)."""

from tests.chat.conftest import (  # noqa: F401 - re-exported as fixtures for these tests
    engine_cleanup,
    fake_openrouter,
    no_title_model,
    operator_key,
    tab,
)
