"""Two real daphne processes sharing PostgreSQL and Redis, with the stand-in (the `two_servers`
fixture in tests/chat/engine.py), and a real websocket client for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne on {port} did not start:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def servers(fake_openrouter: Any, tmp_path: Path, count: int = 2) -> Iterator[list[int]]:
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
        for name in "abcdefgh"[:count]:
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


def metrics(port: int) -> dict[str, int]:
    """The hub's counters of the process on `port` (its /metrics)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()  # noqa: S310
    found = {}
    for line in text.decode().splitlines():
        if line.startswith("chatapp_fanout_"):
            name, value = line.split()
            found[name.removeprefix("chatapp_fanout_").removesuffix("_total")] = int(value)
    return found
