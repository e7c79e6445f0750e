"""Client CPU per 1,000 streamed tokens: chatapp.openrouter.astream_chat against the stand-in.

    .venv/bin/python bench/client_stream.py [--tokens 1000] [--runs 5]

The stand-in runs in another process, so time.process_time() here counts only the client:
HTTP reads, SSE parsing (httpx-sse), JSON decoding and the typed events. Two pacings:
"burst" (the server writes as fast as it can: the cost of parsing and translating events) and
"paced" (one event per network read, as a model streams at --paced-rate tokens/s: adds the
cost of waking up for every read). For scale, "httpx" reads the same paced stream with a bare
httpx.AsyncClient (aiter_raw, no parsing: the transport alone; a baseline, so this file imports
httpx too), and "floor" reads it from a bare asyncio socket: the event loop and kernel alone.
Goal: under 0.05 CPU-seconds per 1,000 tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.conf import settings  # noqa: E402

settings.configure(
    OPENROUTER_BASE_URL="http://127.0.0.1:0/api/v1",
    CHATAPP_SITE_URL="http://localhost:8000",
    CHATAPP_SITE_NAME="chatapp-bench",
)

from chatapp.openrouter import ContentDelta, StreamError, astream_chat  # noqa: E402


def start_stand_in(rate: float, tokens: int) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatapp.openrouter.fake", "--port", "0", "--ttft-ms", "0"]
        + ["--rate", str(rate), "--tokens", str(tokens)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().rsplit(":", 1)[1])
    return process, port


async def one_stream() -> tuple[int, float, float]:
    """Consume one reply; return (tokens, cpu seconds, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = 0
    async for event in astream_chat(
        api_key="sk-or-v1-bench",
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "benchmark"}],
        user_id="bench",
    ):
        if isinstance(event, ContentDelta):
            count += 1
        elif isinstance(event, StreamError):
            raise RuntimeError(event.message)
    return count, time.process_time() - cpu, time.perf_counter() - wall


async def one_raw_stream(port: int, tokens: int) -> tuple[int, float, float]:
    """The floor: read the same stream from a bare asyncio socket, parsing nothing."""
    cpu, wall = time.process_time(), time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(
        {
            "model": "openai/gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "b"}],
        }
    ).encode()
    head = (
        "POST /api/v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer sk-or-v1-bench\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    while (data := await reader.read(65536)) and b"[DONE]" not in data:
        pass
    writer.close()
    return tokens, time.process_time() - cpu, time.perf_counter() - wall


async def one_httpx_stream(port: int, tokens: int) -> tuple[int, float, float]:
    """The transport alone: the same request through a bare httpx client, bytes discarded."""
    import httpx

    cpu, wall = time.process_time(), time.perf_counter()
    body = {
        "model": "openai/gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": "b"}],
    }
    async with (
        httpx.AsyncClient() as client,
        client.stream(
            "POST",
            f"http://127.0.0.1:{port}/api/v1/chat/completions",
            json=body,
            headers={"Authorization": "Bearer sk-or-v1-bench"},
        ) as response,
    ):
        async for _ in response.aiter_raw():
            pass
    return tokens, time.process_time() - cpu, time.perf_counter() - wall


async def measure(runs: int, port: int, tokens: int, mode: str) -> list[tuple[int, float, float]]:
    async def one() -> tuple[int, float, float]:
        if mode == "floor":
            return await one_raw_stream(port, tokens)
        if mode == "httpx":
            return await one_httpx_stream(port, tokens)
        return await one_stream()

    await one()  # warm-up: imports, the pooled connection, caches
    return [await one() for _ in range(runs)]


def bench(name: str, rate: float, tokens: int, runs: int) -> None:
    process, port = start_stand_in(rate, tokens)
    try:
        settings.OPENROUTER_BASE_URL = f"http://127.0.0.1:{port}/api/v1"
        results = asyncio.run(measure(runs, port, tokens, name))
    finally:
        process.terminate()
        process.wait()
    per_thousand = sorted(cpu / count * 1000 for count, cpu, _ in results)
    median = per_thousand[len(per_thousand) // 2]
    wall = sum(w for _, _, w in results) / len(results)
    print(
        f"{name:6} rate={rate or 'max':>5} tokens/run={tokens} runs={runs}  "
        f"CPU per 1,000 tokens: median {median:.4f} s, min {per_thousand[0]:.4f} s, "
        f"max {per_thousand[-1]:.4f} s  (wall per run {wall:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--paced-rate", type=float, default=200.0)
    options = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  python {platform.python_version()}"
        f"  {platform.machine()}  {os.cpu_count()} cpus  "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    bench("burst", 0, options.tokens, options.runs)
    bench("paced", options.paced_rate, options.tokens, options.runs)
    bench("httpx", options.paced_rate, options.tokens, options.runs)
    bench("floor", options.paced_rate, options.tokens, options.runs)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
