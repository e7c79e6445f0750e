"""The stand-in OpenRouter as pytest fixtures: a real HTTP server on a free loopback port.

`fake_openrouter` (per test) runs the server in a thread of the test process and points
OPENROUTER_BASE_URL / OPENROUTER_AUTH_URL at it. `fake_openrouter_process` runs
`manage.py fake_openrouter --port 0` as a subprocess, for browser tests and live servers.
Both offer .base_url, .auth_url, .port, .requests(), .events(), .clear().
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from chatapp.openrouter.fake import Config, FakeOpenRouter

ROOT = Path(__file__).resolve().parent.parent
# Fast defaults for tests; markers like [[ttft:300]] or [[rate:20]] slow a single reply down.
TEST_CONFIG = Config(ttft_ms=10, rate=0, tokens=12, keepalive_s=0.05)


class _Urls:
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth"

    def settings(self) -> override_settings:
        return override_settings(
            OPENROUTER_BASE_URL=self.base_url, OPENROUTER_AUTH_URL=self.auth_url
        )


class FakeOpenRouterThread(_Urls):
    """The stand-in on its own event loop in a daemon thread of this process."""

    def __init__(self, config: Config = TEST_CONFIG) -> None:
        self.default_config = config
        self.server = FakeOpenRouter(replace(config))
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)
        self.port = self.server.port

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    def _call(self, function: Any, *args: Any) -> Any:
        async def call() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(5)

    def requests(self) -> list[dict[str, Any]]:
        """What the stand-in received (not its control endpoints): method, path, query,
        headers (lower-case names), json, time."""
        return self._call(lambda: list(self.server.log))

    def events(self) -> list[dict[str, Any]]:
        """Connection closes: type, by (client/server), time, path, generation_id, during_stream."""
        return self._call(lambda: list(self.server.closes))

    def clear(self) -> None:
        self._call(self.server.clear)
        self.server.config = replace(self.default_config)

    def remove_model(self, model_id: str) -> None:
        """Leave a model out of GET /models from now on (until clear())."""
        self._call(self.server.removed_models.add, model_id)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class FakeOpenRouterProcess(_Urls):
    """The stand-in as `manage.py fake_openrouter` in a subprocess (as a person would run it)."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "fake_openrouter", "--port", "0", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"fake_openrouter did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def _control(self, name: str, method: str = "GET") -> Any:
        url = f"http://127.0.0.1:{self.port}/__fake__/{name}"
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        return list(self._control("requests"))

    def events(self) -> list[dict[str, Any]]:
        return list(self._control("events"))

    def clear(self) -> None:
        self._control("clear", "POST")

    def remove_model(self, model_id: str) -> None:
        self._control(f"remove-model?id={model_id}", "POST")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(autouse=True)
def no_background_catalog_refresh() -> Iterator[None]:
    """Keep page views from starting catalogue refresh threads that would write to the test
    database behind the test's back (tests/catalog turns it on where it is the subject)."""
    with override_settings(CHATAPP_CATALOG_AUTO_REFRESH=False):
        yield


@pytest.fixture(scope="session")
def fake_openrouter_server() -> Iterator[FakeOpenRouterThread]:
    server = FakeOpenRouterThread()
    yield server
    server.stop()


@pytest.fixture
def fake_openrouter(fake_openrouter_server: FakeOpenRouterThread) -> Iterator[FakeOpenRouterThread]:
    """The stand-in, cleared, with OPENROUTER_BASE_URL/OPENROUTER_AUTH_URL pointing at it."""
    fake_openrouter_server.clear()
    with fake_openrouter_server.settings():
        yield fake_openrouter_server
    fake_openrouter_server.clear()


@pytest.fixture(scope="session")
def fake_openrouter_process() -> Iterator[FakeOpenRouterProcess]:
    """The stand-in in a subprocess (fast replies); clear() it between tests if it matters."""
    server = FakeOpenRouterProcess("--ttft-ms", "50", "--rate", "200", "--tokens", "20")
    yield server
    server.stop()
