"""Two real daphne processes sharing PostgreSQL and Redis, with the stand-in (the `two_servers`
fixture in tests/chat/engine.py), and a real websocket client for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.chat.frames import OPERATOR_KEY

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
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne on {port} did not start:\n{log.read_text()[-3000:]}")


def server_env(fake_openrouter: Any) -> dict[str, str]:
    return {
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


class Server:
    """One daphne process serving the app on a free port; it can be killed and started again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
                + ["chatapp.asgi:application"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(self.port, self.process, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `sig`, wait for the process to end (killing it past `timeout`); its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextlib.contextmanager
def servers(fake_openrouter: Any, tmp_path: Path, count: int = 2) -> Iterator[list[Server]]:
    env = server_env(fake_openrouter)
    running: list[Server] = []
    try:
        for name in "abcdefgh"[:count]:
            running.append(Server(env, tmp_path / f"daphne-{name}.log").start())
        yield running
    finally:
        for server in running:
            with contextlib.suppress(Exception):
                server.stop()


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


def metrics(port: int) -> dict[str, int]:
    """The hub's counters of the process on `port` (its /metrics)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    found = {}
    for line in text.decode().splitlines():
        if line.startswith("chatapp_fanout_"):
            name, value = line.split()
            found[name.removeprefix("chatapp_fanout_").removesuffix("_total")] = int(value)
    return found


@dataclass
class Browser:
    """What a tab shows of one reply, kept by the page's rules (static/js/chat.js): a snapshot
    of a streaming reply replaces the text only when longer, a delta must start within it."""

    reply: int
    text: str = ""
    final: dict[str, Any] | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)

    def take(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        kind = frame["type"]
        if kind == "snapshot":
            for message in frame["messages"]:
                if message["id"] == self.reply:
                    self._snapshot(message)
        elif kind == "delta" and frame["message"] == self.reply:
            offset, text = frame["offset"], frame["text"]
            assert offset <= len(self.text), f"a gap: had {len(self.text)}, got {offset}"
            assert self.text[offset:] == text[: len(self.text) - offset], "text taken back"
            self.text = self.text[:offset] + text
        elif kind == "done" and frame["message"]["id"] == self.reply:
            self.final = frame["message"]

    def _snapshot(self, message: dict[str, Any]) -> None:
        if message["status"] != "streaming":
            self.final = message
            return
        shorter, longer = sorted((self.text, message["content"]), key=len)
        assert longer.startswith(shorter), "a snapshot disagrees with the text shown"
        self.text = longer


async def watch(port: int, cookie: str, conversation: int, reply: int) -> Browser:
    """A tab on `port` that opens the conversation and reads until the reply's final state."""
    browser = Browser(reply)
    ws = await open_socket(port, cookie)
    try:
        await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
        async with asyncio.timeout(60):
            while browser.final is None:
                browser.take(json.loads(await ws.recv()))
    finally:
        await ws.close()
    return browser
