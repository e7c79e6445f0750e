"""Fixtures for the chat engine: signed-in sockets on the real ASGI stack, keys, and clean-up.

A pytest plugin (tests/conftest.py's `pytest_plugins`), so every test folder can use them; the
folders that test the engine turn on `engine_tests` for each of their tests in their conftest.

`tab(user)` opens a websocket to /ws/chat/ as `user` (a real session cookie through Channels'
AuthMiddlewareStack and the origin check), and returns a `Tab` that reads frames with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chatapp.chat.lifecycle import stop_all
from tests.chat.frames import OPERATOR_KEY, connect_socket
from tests.chat.servers import servers

WAIT = 15.0


class Tab:
    """One browser tab's socket: send frames, read them in order, each read bounded in time."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.seen: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.communicator.send_json_to(frame)

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        frame = await self.communicator.receive_json_from(timeout=timeout)
        self.seen.append(frame)
        return frame

    async def until(self, kind: str, timeout: float = WAIT, **match: Any) -> dict[str, Any]:
        """Read frames until one of type `kind` (whose fields equal `match`) arrives; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.next(timeout=max(0.01, deadline - loop.time()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    def text_of(self, message_id: int, kind: str = "delta") -> str:
        """The reply text as this tab saw it: snapshot, then deltas (offsets checked)."""
        text = ""
        for frame in self.seen:
            if frame["type"] == "snapshot":
                for m in frame["messages"]:
                    if m["id"] == message_id:
                        text = m["content"] if kind == "delta" else m["reasoning"]
            if frame["type"] == kind and frame["message"] == message_id:
                assert frame["offset"] == len(text), "a gap or an overlap in the deltas"
                text += frame["text"]
        return text

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.seen if f["type"] == kind]


async def session_cookie(user: Any) -> str:
    client = Client()
    await sync_to_async(client.force_login)(user)
    return client.cookies["sessionid"].value


@pytest.fixture
async def tab() -> AsyncIterator[Callable[[Any], Awaitable[Tab]]]:
    opened: list[WebsocketCommunicator] = []

    async def open_tab(user: Any) -> Tab:
        communicator = await connect_socket(await session_cookie(user))
        opened.append(communicator)
        return Tab(communicator)

    yield open_tab
    for communicator in opened:
        # A read that timed out has already cancelled that socket's application, and
        # disconnect() re-raises whatever it died of; the test has failed already.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await communicator.disconnect()


async def stop_engine() -> None:
    """Stop every worker, background task and sweeper of this process, and wait for them
    (bounded: a stuck worker fails the test instead of hanging the suite)."""
    async with asyncio.timeout(20):
        await stop_all()


@pytest.fixture
async def engine_cleanup() -> AsyncIterator[None]:
    """Let no worker, sweeper or hub outlive its test (the database is flushed next)."""
    yield
    await stop_engine()


@pytest.fixture
def two_servers(fake_openrouter: Any, tmp_path: Path) -> Iterator[list[int]]:
    """Two daphne processes on this test's PostgreSQL database and Redis; their ports."""
    with servers(fake_openrouter, tmp_path) as running:
        yield [server.port for server in running]


@pytest.fixture
def operator_key(settings: Any) -> str:
    """Everyone may use the site's key (the stand-in accepts any sk-or-v1-… key)."""
    settings.OPENROUTER_API_KEY = OPERATOR_KEY
    settings.CHATAPP_OPERATOR_KEY_POLICY = "all"
    return OPERATOR_KEY


@pytest.fixture
def no_title_model(settings: Any) -> None:
    """Titles come from the first words unless a test turns the title model on: one upstream
    call per reply keeps the stand-in's request log about the reply under test."""
    settings.CHATAPP_TITLE_MODEL = ""


@pytest.fixture
def engine_tests(engine_cleanup: None, no_title_model: None) -> None:
    """What every engine test gets (a conftest makes it autouse): no worker outlives the test,
    and no title call unless the test asks for one."""
