"""Command-line options of the stand-in, shared by `manage.py fake_openrouter` and `-m`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from chatapp.openrouter.fake.server import Config, FakeOpenRouter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--host", default=env("FAKE_OPENROUTER_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env("FAKE_OPENROUTER_PORT", "8001")), help="0 = any free"
    )
    parser.add_argument(
        "--ttft-ms",
        type=int,
        default=int(env("FAKE_OPENROUTER_TTFT_MS", "400")),
        help="time to first token, ms",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=float(env("FAKE_OPENROUTER_RATE", "40")),
        help="tokens per second (0 = as fast as possible)",
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=int(env("FAKE_OPENROUTER_TOKENS", "120")),
        help="reply length in tokens",
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=float(env("FAKE_OPENROUTER_KEEPALIVE", "1.0")),
        help="seconds between ': OPENROUTER PROCESSING' comments before the first token",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        default=env("FAKE_OPENROUTER_MARKDOWN", "") == "1",
        help="answer messages without markers with a markdown sample instead of prose",
    )


def config_from(options: argparse.Namespace | Mapping[str, Any]) -> Config:
    values = vars(options) if isinstance(options, argparse.Namespace) else options
    return Config(
        ttft_ms=int(values["ttft_ms"]),
        rate=float(values["rate"]),
        tokens=int(values["tokens"]),
        keepalive_s=float(values["keepalive"]),
        markdown=bool(values.get("markdown", False)),
    )


async def aserve(host: str, port: int, config: Config) -> None:
    server = FakeOpenRouter(config, host=host, port=port)
    port = await server.start()
    base = f"http://{host}:{port}"
    # One parseable line first: tests and dev.py read the port from it.
    print(f"fake-openrouter listening on {base}", flush=True)
    print(
        f"  OPENROUTER_BASE_URL={base}/api/v1 OPENROUTER_AUTH_URL={base}/auth",
        file=sys.stderr,
        flush=True,
    )
    await server.serve_forever()


def run(host: str, port: int, config: Config) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the way to stop it
        asyncio.run(aserve(host, port, config))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fake_openrouter", description=__doc__)
    add_arguments(parser)
    options = parser.parse_args(argv)
    run(options.host, options.port, config_from(options))
