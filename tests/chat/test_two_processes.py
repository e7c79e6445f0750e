"""Scaled out: two real daphne processes sharing PostgreSQL and Redis, with the stand-in.

A generation started through process A is watched live through process B, and "stop" sent
through B reaches the worker in A. One send handed to both at once is stored, and sent upstream,
once.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chatapp.chat.models import Message
from tests.chat.conftest import OPERATOR_KEY, session_cookie

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne on {port} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def two_servers(fake_openrouter: Any, tmp_path: Path) -> Iterator[list[int]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatapp.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "OPENROUTER_BASE_URL": fake_openrouter.base_url,
        "OPENROUTER_AUTH_URL": fake_openrouter.auth_url,
        "OPENROUTER_API_KEY": OPERATOR_KEY,
        "CHATAPP_OPERATOR_KEY_POLICY": "all",
        "CHATAPP_TITLE_MODEL": "",
        "PYTHONUNBUFFERED": "1",
    }
    processes, ports = [], []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp_path / f"daphne-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "daphne",
                        "-b",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "chatapp.asgi:application",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            processes.append(process)
            wait_until_up(port, process, log)
            ports.append(port)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def open_socket(port: int, cookie: str) -> Any:
    return await connect(
        f"ws://127.0.0.1:{port}/ws/chat/",
        origin=Origin(f"http://127.0.0.1:{port}"),
        additional_headers={"Cookie": f"sessionid={cookie}"},
        open_timeout=10,
        proxy=None,
    )


async def read_until(ws: Any, kind: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if frame["type"] == kind:
                return frame


async def test_a_reply_started_on_one_process_is_watched_and_stopped_through_another(
    alice, two_servers
):
    port_a, port_b = two_servers
    cookie = await session_cookie(alice)
    on_a, on_b = await open_socket(port_a, cookie), await open_socket(port_b, cookie)
    try:
        seen_a: list[dict[str, Any]] = []
        await on_a.send(
            json.dumps(
                {
                    "type": "send",
                    "conversation": None,
                    "client_id": str(uuid.uuid4()),
                    "content": "long one [[tokens:400]] [[rate:20]]",
                    "model": MODEL,
                }
            )
        )
        await read_until(on_a, "delta", seen_a)
        reply_id = seen_a[-1]["message"]
        conversation_id = seen_a[-1]["conversation"]

        seen_b: list[dict[str, Any]] = []
        await on_b.send(json.dumps({"type": "subscribe", "conversation": conversation_id}))
        snapshot = await read_until(on_b, "snapshot", seen_b)
        [streaming] = snapshot["messages"]
        assert streaming["id"] == reply_id and streaming["content"]
        live = await read_until(on_b, "delta", seen_b)
        assert live["offset"] >= len(streaming["content"])

        await on_b.send(json.dumps({"type": "stop", "conversation": conversation_id}))
        done_b = await read_until(on_b, "done", seen_b)
        done_a = await read_until(on_a, "done", seen_a)
        assert done_a["message"]["status"] == done_b["message"]["status"] == "cancelled"

        text_b = streaming["content"] + "".join(f["text"] for f in seen_b if f["type"] == "delta")
        assert text_b == done_b["message"]["content"]
        row = await Message.objects.aget(pk=reply_id)
        assert row.status == "cancelled" and row.content == text_b
    finally:
        await on_a.close()
        await on_b.close()


async def test_one_send_handed_to_both_processes_at_once_calls_openrouter_once(
    alice, two_servers, fake_openrouter
):
    """The attack: the same frame on two sockets at the same moment, four times."""
    cookie = await session_cookie(alice)
    sockets = [await open_socket(port, cookie) for port in two_servers]
    try:
        for attempt in range(4):
            frame = json.dumps(
                {
                    "type": "send",
                    "conversation": None,
                    "client_id": str(uuid.uuid4()),
                    "content": f"attempt {attempt} [[tokens:3]]",
                    "model": MODEL,
                }
            )
            await asyncio.gather(*(ws.send(frame) for ws in sockets))
            replies = [await created_reply(ws) for ws in sockets]
            assert replies[0] == replies[1]  # both were answered with the one stored reply
    finally:
        for ws in sockets:
            await ws.close()
    await replies_finished()
    calls = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    assert len(calls) == 4
    assert await Message.objects.filter(role="assistant").acount() == 4


async def created_reply(ws: Any) -> int:
    """Read until the `message_created` of an assistant message; return its id."""
    while True:
        frame = await read_until(ws, "message_created", [])
        if frame["message"]["role"] == "assistant":
            return int(frame["message"]["id"])


async def replies_finished() -> None:
    async with asyncio.timeout(20):
        while await Message.objects.filter(status="streaming").aexists():
            await asyncio.sleep(0.05)
