"""A stand-in for OpenRouter that runs on loopback: for tests, benchmarks and offline trials."""

from __future__ import annotations

from chatapp.openrouter.fake.server import Config, FakeOpenRouter

__all__ = ["Config", "FakeOpenRouter"]
