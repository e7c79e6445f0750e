"""daphne serving the app, logging every garbage-collector pause (for bench/streaming.py).

    .venv/bin/python bench/streaming_app.py -b 127.0.0.1 -p 8000 chatapp.asgi:application

Same arguments as daphne. Each collection prints "gc <generation> <ms>" to stderr, so the
bench can tell GC pauses from the app's own work when it looks for stalls.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

_started: dict[int, float] = {}


def _log_pause(phase: str, info: dict[str, Any]) -> None:
    generation = int(info["generation"])
    if phase == "start":
        _started[generation] = time.perf_counter()
    elif generation in _started:
        pause = (time.perf_counter() - _started.pop(generation)) * 1000
        if pause >= 1:
            print(f"gc {generation} {pause:.1f}", file=sys.stderr, flush=True)


def _freeze_after_import() -> None:
    """BENCH_GC_FREEZE=1: gc.freeze() once the app is imported (an experiment; see docs)."""
    import os

    if os.environ.get("BENCH_GC_FREEZE") != "1":
        return
    from daphne import cli

    original = cli.import_by_path

    def import_then_freeze(path: str) -> Any:
        app = original(path)
        gc.collect()
        gc.freeze()
        return app

    cli.import_by_path = import_then_freeze


if __name__ == "__main__":
    gc.callbacks.append(_log_pause)
    _freeze_after_import()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()
