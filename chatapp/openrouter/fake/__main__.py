"""`python -m chatapp.openrouter.fake --port 8001`: the stand-in without Django (benchmarks)."""

from __future__ import annotations

from chatapp.openrouter.fake.cli import main

main()
