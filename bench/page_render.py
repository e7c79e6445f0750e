"""Rendering cost of a long streamed reply in the chat page, measured in real Chromium.

    .venv/bin/python bench/page_render.py [--tokens 4000] [--rate 200]

Starts the stand-in OpenRouter and the app (daphne, DEBUG off, a temp SQLite DB), signs in,
and streams two replies of --tokens tokens at --rate tokens/s through the real websocket:
plain prose from the stand-in, and a markdown-heavy document (headings, lists, tables, code
blocks) echoed back by it. A PerformanceObserver for 'longtask' records every main-thread task
over 50 ms while each reply streams. Prints one JSON line per reply. Not a test: the target
(no long task) is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    LOAD_CATALOGUE,
    OPERATOR_KEY,
    base_env,
    free_port,
    manage,
    stop,
    wait_for_http,
)

OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, ms: e.duration});
}).observe({type: 'longtask', buffered: true});
"""


def markdown_document(words: int) -> str:
    """A reply shaped like real model output, `words` whitespace-separated tokens long."""
    section = (
        "## Step {n}: what to change\n\n"
        "Here is **why** it matters, with `inline code` and a [link](https://example.com/{n}).\n\n"
        "- first point about the change and its cost\n- second point, a little longer than the "
        "first one\n- third point\n\n"
        "| option | price | context |\n| --- | --- | --- |\n| small | $0.15 | 128K |\n"
        "| large | $3.00 | 200K |\n\n"
        "```python\ndef handler(request, n={n}):\n    total = sum(x * x for x in range(n))\n"
        "    return {{'total': total, 'ok': True}}\n```\n\n"
        "> A quoted remark that wraps onto a second line when the window is narrow enough.\n\n"
    )
    parts: list[str] = []
    n = 0
    while sum(len(p.split()) for p in parts) < words:
        n += 1
        parts.append(section.format(n=n))
    return "".join(parts)


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def measure(page: object, message: str, label: str, tokens: int, rate: int) -> dict[str, object]:
    page.goto("/")  # type: ignore[attr-defined]
    page.evaluate("window.__longTasks = []")  # type: ignore[attr-defined]
    box = page.get_by_role("textbox", name="Message")  # type: ignore[attr-defined]
    box.fill(message)
    started = time.monotonic()
    t0 = page.evaluate("performance.now()")  # type: ignore[attr-defined]
    box.press("Enter")
    try:
        page.get_by_role("button", name="Stop").wait_for()  # type: ignore[attr-defined]
    except Exception:
        page.screenshot(path="/tmp/bench-fail.png")  # type: ignore[attr-defined]
        raise
    page.get_by_role("button", name="Send").wait_for(timeout=tokens / rate * 1000 + 60_000)  # type: ignore[attr-defined]
    seconds = time.monotonic() - started
    # Only tasks from the moment of sending: filling the box with a 20 KB message is not rendering.
    tasks = [t for t in page.evaluate("window.__longTasks") if t["start"] >= t0]  # type: ignore[attr-defined]
    chars = page.evaluate(
        "document.querySelector('article.msg.assistant:last-of-type .md').textContent.length"
    )  # type: ignore[attr-defined]
    return {
        "reply": label,
        "tokens": tokens,
        "rate": rate,
        "stream_seconds": round(seconds, 1),
        "rendered_chars": chars,
        "long_tasks": len(tasks),
        "longest_ms": round(max((t["ms"] for t in tasks), default=0), 1),
        "tasks_at": [[round((t["start"] - t0) / 1000, 1), round(t["ms"])] for t in tasks],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-page-"))
    env = base_env()
    fake_port, app_port = free_port(), free_port()
    fake = start(
        [sys.executable, "manage.py", "fake_openrouter", "--port", str(fake_port)],
        env,
        tmp / "fake.log",
    )
    app_url = f"http://127.0.0.1:{app_port}"
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        OPENROUTER_BASE_URL=f"http://127.0.0.1:{fake_port}/api/v1",
        OPENROUTER_AUTH_URL=f"http://127.0.0.1:{fake_port}/auth",
        CHATAPP_SITE_URL=app_url,
        OPENROUTER_API_KEY=OPERATOR_KEY,
        CHATAPP_OPERATOR_KEY_POLICY="all",
        CHATAPP_TITLE_MODEL="",
    )
    env.pop("REDIS_URL", None)
    app = None
    try:
        wait_for_http(f"http://127.0.0.1:{fake_port}/api/v1/models", fake, tmp / "fake.log")
        manage("migrate", "--noinput", env=env)
        manage("shell", "--no-imports", "-c", LOAD_CATALOGUE, env=env)
        manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        code = (
            "from chatapp.accounts.models import User\n"
            "User.objects.create_user('bench', password='bench pass 123')"
        )
        manage("shell", "--no-imports", "-c", code, env=env)
        app = start(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(app_port)]
            + ["chatapp.asgi:application"],
            env,
            tmp / "app.log",
        )
        wait_for_http(f"{app_url}/healthz", app, tmp / "app.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 860})
            context.add_init_script(OBSERVER)
            page = context.new_page()
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill("bench")
            page.get_by_label("Password").fill("bench pass 123")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{app_url}/")
            prose = f"Write at length [[tokens:{args.tokens}]] [[rate:{args.rate}]]"
            doc = markdown_document(args.tokens)
            rich = f"[[echo]] [[rate:{args.rate}]]\n{doc}"
            for label, message, count in (
                ("prose", prose, args.tokens),
                ("markdown", rich, len(doc.split())),
            ):
                print(json.dumps(measure(page, message, label, count, args.rate)), flush=True)
            browser.close()
    finally:
        if app is not None:
            stop(app)
        stop(fake)


if __name__ == "__main__":
    main()
