"""The stand-in OpenRouter, logging when it wrote each content chunk (for bench/streaming.py).

    .venv/bin/python bench/streaming_standin.py --port 0 --log /tmp/emitted.log

Prints the port it listens on. Every content chunk written appends a line
"<stream tag> <characters of content so far> <time.monotonic()>" to the log; the tag is the
first word of the request's last user message. time.monotonic() is CLOCK_MONOTONIC, shared by
every process on Linux, so the bench can compare it with when its sockets received the text.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatapp.openrouter.fake import server as fake  # noqa: E402


def install_probe(log: Any) -> None:
    tags: dict[str, str] = {}
    written: dict[str, int] = {}
    new_generation = fake.FakeOpenRouter._new_generation
    event = fake._StreamWriter._event

    def _new_generation(self: Any, request: Any, body: Any, *args: Any) -> Any:
        generation = new_generation(self, request, body, *args)
        text = str(body["messages"][-1]["content"])
        tags[generation["id"]] = text.split()[0] if text.split() else "-"
        return generation

    async def _event(self: Any, payload: dict[str, Any]) -> bool:
        ok = await event(self, payload)
        choices = payload.get("choices") or []
        content = choices[0].get("delta", {}).get("content") if choices else None
        if content:
            gen = self.generation["id"]
            written[gen] = written.get(gen, 0) + len(content)
            log.write(f"{tags.get(gen, '-')} {written[gen]} {time.monotonic():.6f}\n")
        return ok

    fake.FakeOpenRouter._new_generation = _new_generation  # type: ignore[method-assign]
    fake._StreamWriter._event = _event  # type: ignore[method-assign]


async def flush_often(log: Any) -> None:
    while True:
        await asyncio.sleep(0.2)
        log.flush()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    options = parser.parse_args()
    with open(options.log, "a") as log:
        install_probe(log)
        config = fake.Config(ttft_ms=100, rate=50, tokens=100, keepalive_s=1.0)
        server = fake.FakeOpenRouter(config, host="127.0.0.1", port=options.port)
        port = await server.start()
        print(port, flush=True)
        flusher = asyncio.get_running_loop().create_task(flush_often(log))
        try:
            await server.serve_forever()
        finally:
            flusher.cancel()
            log.flush()


if __name__ == "__main__":
    asyncio.run(main())
