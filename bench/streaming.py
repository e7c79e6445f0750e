"""Streaming engine benchmarks: what the app adds between OpenRouter and the browser.

    .venv/bin/python bench/streaming.py ttft       [--streams 50] [--spread 0] [--rounds 1]
    .venv/bin/python bench/streaming.py chunks     [--streams 100] [--spread 0] [--rate 50]
    .venv/bin/python bench/streaming.py capacity   [--levels 50,100,200,300]
    .venv/bin/python bench/streaming.py stop       [--streams 0]
    .venv/bin/python bench/streaming.py writes     [--seconds 5]
    .venv/bin/python bench/streaming.py memory     [--idle 1000 --cycles 10000]

    --scaled: two daphne processes on PostgreSQL + Redis (the scaled deployment) instead of one
    on SQLite and the in-memory layer; sockets alternate between the two, as behind nginx.
    --watch (chunks, capacity): every stream also has a second socket, on the other process in
    --scaled, that subscribes to the conversation; its chunks are counted and timed too.

Everything on loopback, bounded in count and time. The stand-in (bench/streaming_standin.py)
logs when it wrote each content chunk; daphne serves the app (DEBUG off, SQLite in a temp dir,
in-memory channel layer: the embedded default); this process plays the browsers with the
`websockets` client, and reads the stand-in directly with httpx for the baseline. Both clocks
are CLOCK_MONOTONIC, so "written by the stand-in" and "received by the browser" compare.

  ttft      time to first token, app (websocket send → first delta) vs. the stand-in read
            directly (request → first content chunk); "added" is the difference.
  chunks    per content chunk: received − written, app vs. direct; counts lost chunks.
  capacity  chunk delay p99 at 50 tokens/s for growing numbers of concurrent streams.
  stop      "stop" sent → the stand-in sees the upstream connection closed (20 times), with
            --streams other streams running.
  writes    database INSERT/UPDATE statements for one reply of --seconds at 20 tokens/s (in
            this process, through the real ASGI app, every connection's statements counted).
  memory    daphne's RSS per idle websocket, and after --cycles connect/disconnect cycles.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-bench-operator"
SECRETS = {
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghij",
    "CHATAPP_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTAxMjM0NTY=",
}


# --- processes ---------------------------------------------------------------------------------


SCALED_DB = "chatapp_bench"
SCALED_REDIS = "redis://127.0.0.1:6379/7"


class Rig:
    """The stand-in and the app as subprocesses; stopped on exit."""

    def __init__(self, work: Path, *, scaled: bool = False) -> None:
        self.work = work
        self.scaled = scaled
        self.emitted_log = work / "emitted.log"
        self.processes: list[subprocess.Popen[str]] = []
        self.standin_port = self._start_standin()
        self.env = self._app_env()
        self.app_ports: list[int] = []
        self.app_pids: list[int] = []

    def _start_standin(self) -> int:
        process = subprocess.Popen(
            [sys.executable, "bench/streaming_standin.py", "--log", str(self.emitted_log)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        assert process.stdout is not None
        return int(process.stdout.readline())

    def _app_env(self) -> dict[str, str]:
        return {
            **os.environ,
            **SECRETS,
            "DJANGO_SETTINGS_MODULE": "chatapp.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{SCALED_DB}"
            if self.scaled
            else f"sqlite:///{self.work / 'bench.sqlite3'}",
            "OPENROUTER_BASE_URL": f"http://127.0.0.1:{self.standin_port}/api/v1",
            "OPENROUTER_API_KEY": KEY,
            "CHATAPP_OPERATOR_KEY_POLICY": "all",
            "CHATAPP_TITLE_MODEL": "",
            "CHATAPP_LOG_LEVEL": "WARNING",
            **({"REDIS_URL": SCALED_REDIS} if self.scaled else {}),
        }

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return result.stdout

    def start_app(self) -> None:
        if self.scaled:  # a fresh database and Redis every run
            for sql in (f"DROP DATABASE IF EXISTS {SCALED_DB}", f"CREATE DATABASE {SCALED_DB}"):
                subprocess.run(
                    ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
                    check=True,
                    capture_output=True,
                )
            subprocess.run(["redis-cli", "-n", "7", "flushdb"], check=True, capture_output=True)
        self.manage("migrate", "--noinput", "-v", "0")
        for n in range(2 if self.scaled else 1):
            self._start_daphne(n)

    @property
    def app_port(self) -> int:
        return self.app_ports[0]

    def _start_daphne(self, n: int) -> None:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "bench/streaming_app.py", "-b", "127.0.0.1", "-p", str(port)]
            + ["chatapp.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.work / f"daphne{n}.log", "w"),  # noqa: SIM115 - as long as daphne
            text=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (self.work / f"daphne{n}.log").read_text()[-3000:]
                    raise RuntimeError(f"daphne did not start:\n{log}") from None
                time.sleep(0.2)
        self.app_ports.append(port)
        self.app_pids.append(process.pid)
        print(f"# app: daphne pid {process.pid} on port {port}", flush=True)

    def sessions(self, count: int) -> list[str]:
        """Make `count` users, each signed in once; return their session keys."""
        code = (
            "import json\n"
            "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY,"
            " HASH_SESSION_KEY\n"
            "from django.contrib.sessions.backends.db import SessionStore\n"
            "U = get_user_model(); out = []\n"
            f"for i in range({count}):\n"
            "    u = U(username=f'bench{U.objects.count()}'); u.set_unusable_password(); u.save()\n"
            "    s = SessionStore(); s[SESSION_KEY] = str(u.pk)\n"
            "    s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
            "    s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create()\n"
            "    out.append(s.session_key)\n"
            "print(json.dumps(out))\n"
        )
        return list(json.loads(self.manage("shell", "--no-imports", "-c", code)))

    def emitted(self) -> dict[str, list[tuple[int, float]]]:
        time.sleep(0.5)  # the stand-in flushes its log every 0.2 s
        found: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for line in self.emitted_log.read_text().splitlines():
            tag, chars, at = line.split()
            found[tag].append((int(chars), float(at)))
        return found

    def gc_pauses(self) -> str:
        """What the collector cost in the app so far (bench/streaming_app.py logs each pause)."""
        pauses = [
            float(line.split()[2])
            for n in range(len(self.app_pids))
            for line in (self.work / f"daphne{n}.log").read_text().splitlines()
            if line.startswith("gc ")
        ]
        if not pauses:
            return "no GC pause over 1 ms"
        return (
            f"GC pauses over 1 ms: {len(pauses)}, longest {max(pauses):.0f} ms, "
            f"in all {sum(pauses):.0f} ms"
        )

    def cpu_seconds(self) -> list[float]:
        """User + system CPU time of each daphne so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = []
        for pid in self.app_pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / ticks)
        return out

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.app_pids[0]}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- clients -----------------------------------------------------------------------------------

Arrivals = list[tuple[int, float]]  # (characters received so far, when)


def prompt(tag: str, tokens: int, rate: float, ttft: int) -> str:
    return f"{tag} [[tokens:{tokens}]] [[rate:{rate}]] [[ttft:{ttft}]]"


async def direct_stream(client: Any, rig: Rig, text: str) -> tuple[float, Arrivals]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "usage": {"include": True},
    }
    url = f"http://127.0.0.1:{rig.standin_port}/api/v1/chat/completions"
    arrivals: Arrivals = []
    chars = 0
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {KEY}"}
    async with client.stream("POST", url, json=body, headers=headers) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            choices = chunk.get("choices") or []
            content = choices[0]["delta"].get("content") if choices else None
            if content:
                chars += len(content)
                arrivals.append((chars, time.monotonic()))
    return started, arrivals


async def open_socket(rig: Rig, session: str, process: int = 0) -> Any:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    port = rig.app_ports[process % len(rig.app_ports)]
    return await connect(
        f"ws://127.0.0.1:{port}/ws/chat/",
        origin=Origin(f"http://127.0.0.1:{port}"),
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=30,
        proxy=None,
        compression=None,
        ping_interval=None,
    )


async def app_stream(
    ws: Any,
    text: str,
    go: asyncio.Event,
    delay: float = 0.0,
    created: asyncio.Future[int] | None = None,
) -> tuple[float, Arrivals, int]:
    import uuid

    await go.wait()
    await asyncio.sleep(delay)
    frame = {
        "type": "send",
        "conversation": None,
        "client_id": str(uuid.uuid4()),
        "content": text,
        "model": MODEL,
    }
    arrivals: Arrivals = []
    started = time.monotonic()
    await ws.send(json.dumps(frame))
    with contextlib.suppress(TimeoutError):  # no `done`: its missing chunks count as lost
        async with asyncio.timeout(DONE_WITHIN):
            await _read_reply(ws, arrivals, created)
    frames = len(arrivals)
    return started, arrivals, frames


async def _read_reply(ws: Any, arrivals: Arrivals, created: asyncio.Future[int] | None) -> None:
    async for raw in ws:
        now = time.monotonic()
        message = json.loads(raw)
        if message["type"] == "delta":
            arrivals.append((message["offset"] + len(message["text"]), now))
        elif message["type"] == "done":
            break
        elif message["type"] == "error":
            raise RuntimeError(message)
        elif message["type"] == "message_created" and created and not created.done():
            created.set_result(message["conversation"])


async def watch_stream(ws: Any, created: asyncio.Future[int]) -> tuple[float, Arrivals, int]:
    """A second tab: subscribe to the conversation once it exists; take the snapshot and the
    deltas after it as one text (the snapshot's text counts as arrived when it came). A gap
    (a delta beyond what this tab has) is a protocol violation and fails the run."""
    conversation = await created
    arrivals: Arrivals = []
    started = time.monotonic()
    await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DONE_WITHIN):
            await _watch_reply(ws, arrivals)
    return started, arrivals, len(arrivals)


async def _watch_reply(ws: Any, arrivals: Arrivals) -> None:
    def have() -> int:
        return arrivals[-1][0] if arrivals else 0

    async for raw in ws:
        now = time.monotonic()
        message = json.loads(raw)
        kind = message["type"]
        if kind == "snapshot":
            for m in message["messages"]:
                if m["role"] == "assistant" and len(m["content"]) > have():
                    arrivals.append((len(m["content"]), now))
                if m["role"] == "assistant" and m["status"] != "streaming":
                    return
        elif kind == "delta":
            if message["offset"] > have():
                raise RuntimeError(f"gap: had {have()}, got offset {message['offset']}")
            end = message["offset"] + len(message["text"])
            if end > have():
                arrivals.append((end, now))
        elif kind == "done" and message["message"]["role"] == "assistant":
            final = len(message["message"]["content"])
            if final > have():
                arrivals.append((final, now))
            return


# A reply with no `done` this long after its send is given up on (its missing text: lost).
DONE_WITHIN = 60

# Streams start together (spread 0: a burst, the worst case), or evenly over `spread` seconds.
SPREAD = 0.0


async def run_direct(rig: Rig, streams: int, tokens: int, rate: float, ttft: int, run: str) -> Any:
    import httpx

    async def one(client: Any, i: int) -> tuple[float, Arrivals]:
        await asyncio.sleep(SPREAD * i / streams)
        return await direct_stream(client, rig, prompt(f"{run}-{i}", tokens, rate, ttft))

    limits = httpx.Limits(max_connections=streams + 10)
    async with httpx.AsyncClient(limits=limits, timeout=120, trust_env=False) as client:
        results = await asyncio.gather(*(one(client, i) for i in range(streams)))
    return {f"{run}-{i}": (started, arr, 0) for i, (started, arr) in enumerate(results)}


# --watch: every stream has a second socket (on the other process when scaled) watching it.
WATCH = False
WATCHED: dict[str, Any] = {}  # the watchers' results of the last run_app


async def run_app(rig: Rig, streams: int, tokens: int, rate: float, ttft: int, run: str) -> Any:
    sessions = rig.sessions(streams)
    sockets = [await open_socket(rig, s, i) for i, s in enumerate(sessions)]
    watchers = [await open_socket(rig, s, i + 1) for i, s in enumerate(sessions)] if WATCH else []
    created = [asyncio.get_running_loop().create_future() for _ in sessions]
    go = asyncio.Event()
    try:
        tasks = [
            asyncio.create_task(
                app_stream(
                    ws,
                    prompt(f"{run}-{i}", tokens, rate, ttft),
                    go,
                    SPREAD * i / streams,
                    created[i],
                )
            )
            for i, ws in enumerate(sockets)
        ]
        watching = [
            asyncio.create_task(watch_stream(ws, created[i])) for i, ws in enumerate(watchers)
        ]
        await asyncio.sleep(0.2)
        go.set()
        results = await asyncio.gather(*tasks)
        WATCHED.clear()
        WATCHED.update({f"{run}-{i}": r for i, r in enumerate(await asyncio.gather(*watching))})
    finally:
        for ws in sockets + watchers:
            await ws.close()
    return {f"{run}-{i}": r for i, r in enumerate(results)}


# --- figures -----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ttfts(results: dict[str, Any]) -> list[float]:
    return [(arr[0][1] - started) * 1000 for started, arr, _ in results.values() if arr]


TIMELINE: list[tuple[float, float]] = []  # (written at, delay ms) of the last chunk_delays()


def timeline(width: float = 1.0) -> str:
    """p99 of the chunk delay per `width` seconds of the run: shows when delays happen."""
    if not TIMELINE:
        return ""
    start = min(t for t, _ in TIMELINE)
    buckets: dict[int, list[float]] = defaultdict(list)
    for written, delay in TIMELINE:
        buckets[int((written - start) / width)].append(delay)
    return "p99 per second of the run: " + " ".join(
        f"{pct(buckets[b], 99):.0f}" for b in sorted(buckets)
    )


def chunk_delays(results: dict[str, Any], emitted: dict[str, Arrivals]) -> tuple[list[float], int]:
    delays, lost = [], 0
    TIMELINE.clear()
    for tag, (_, arrivals, _) in results.items():
        got = [chars for chars, _ in arrivals]
        for chars, written in emitted.get(tag, []):
            at = bisect.bisect_left(got, chars)
            if at == len(got):
                lost += 1
                continue
            delays.append((arrivals[at][1] - written) * 1000)
            TIMELINE.append((written, delays[-1]))
    return delays, lost


def cpu_line(cpu: list[float], tokens: int) -> str:
    """daphne CPU per 1,000 streamed tokens, per process (each chunk is one token here)."""
    per = ", ".join(f"{seconds * 1e6 / max(tokens, 1):.0f}" for seconds in cpu)
    return f"daphne CPU per 1,000 tokens: {per} ms ({tokens} tokens)"


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<28} n={len(values):>6}  p50={pct(values, 50):7.2f} ms  "
        f"p99={pct(values, 99):7.2f} ms  max={max(values, default=float('nan')):7.2f} ms"
    )


# --- scenarios ---------------------------------------------------------------------------------


async def bench_ttft(rig: Rig, streams: int, rounds: int) -> None:
    rig.start_app()
    await run_app(rig, 5, 5, 50, 50, "warm")
    direct: list[float] = []
    app: list[float] = []
    for r in range(rounds):  # rounds one after another: more samples of the same load
        direct += ttfts(await run_direct(rig, streams, 10, 50, 100, f"dt{r}"))
        app += ttfts(await run_app(rig, streams, 10, 50, 100, f"at{r}"))
    print(line(f"TTFT direct ({streams})", direct))
    print(line(f"TTFT app ({streams})", app))
    print(
        f"added TTFT: p50 {pct(app, 50) - pct(direct, 50):.2f} ms, "
        f"p99 {pct(app, 99) - pct(direct, 99):.2f} ms"
    )


async def bench_chunks(rig: Rig, streams: int, tokens: int = 100, rate: float = 50) -> None:
    rig.start_app()
    await run_app(rig, 5, 5, 50, 50, "warm")
    direct = await run_direct(rig, streams, tokens, rate, 100, "dc")
    cpu_before = rig.cpu_seconds()
    app = await run_app(rig, streams, tokens, rate, 100, "ac")
    cpu = [after - before for before, after in zip(cpu_before, rig.cpu_seconds(), strict=True)]
    emitted = rig.emitted()
    d_delays, d_lost = chunk_delays(direct, emitted)
    a_delays, a_lost = chunk_delays(app, emitted)
    frames = sum(f for _, _, f in app.values())
    chunks = sum(len(emitted[tag]) for tag in app)
    print(line(f"chunk delay direct ({streams})", d_delays), f"lost={d_lost}")
    print(line(f"chunk delay app ({streams})", a_delays), f"lost={a_lost}")
    if WATCHED:
        w_delays, w_lost = chunk_delays(WATCHED, emitted)
        print(line(f"chunk delay watchers ({streams})", w_delays), f"lost={w_lost}")
        chunk_delays(app, emitted)  # the timeline below is the senders'
    print(cpu_line(cpu, sum(len(emitted[tag]) for tag in app)))
    print(timeline())
    print(rig.gc_pauses())
    print(
        f"added per chunk: p50 {pct(a_delays, 50) - pct(d_delays, 50):.2f} ms, "
        f"p99 {pct(a_delays, 99) - pct(d_delays, 99):.2f} ms; "
        f"{chunks} upstream chunks became {frames} delta frames"
    )


async def bench_capacity(rig: Rig, levels: list[int]) -> None:
    rig.start_app()
    await run_app(rig, 5, 5, 50, 50, "warm")
    for level in levels:
        cpu_before = rig.cpu_seconds()
        app = await run_app(rig, level, 150, 50, 100, f"cap{level}")
        cpu = [after - before for before, after in zip(cpu_before, rig.cpu_seconds(), strict=True)]
        emitted = rig.emitted()
        delays, lost = chunk_delays(app, emitted)
        verdict = "ok" if pct(delays, 99) <= 50 and not lost else "OVER"
        print(line(f"{level} streams @ 50 tok/s", delays), f"lost={lost} {verdict}")
        if WATCHED:
            w_delays, w_lost = chunk_delays(WATCHED, emitted)
            verdict = "ok" if pct(w_delays, 99) <= 50 and not w_lost else "OVER"
            print(line(f"{level} watchers", w_delays), f"lost={w_lost} {verdict}")
        print("  ", cpu_line(cpu, sum(len(emitted[tag]) for tag in app)))


async def bench_memory(rig: Rig, idle: int, cycles: int) -> None:
    rig.start_app()
    sessions = rig.sessions(50)
    warm = [await open_socket(rig, sessions[i % 50]) for i in range(50)]
    for ws in warm:
        await ws.close()
    await asyncio.sleep(1)
    before = rig.rss_kib()
    sockets = []
    for i in range(idle):
        sockets.append(await open_socket(rig, sessions[i % 50]))
    await asyncio.sleep(1)
    during = rig.rss_kib()
    print(
        f"RSS before {before} KiB, with {idle} idle sockets {during} KiB: "
        f"{(during - before) / idle:.1f} KiB per idle socket"
    )
    for ws in sockets:
        await ws.close()
    await asyncio.sleep(1)

    async def cycle(worker: int, count: int) -> None:
        for i in range(count):
            ws = await open_socket(rig, sessions[(worker + i) % 50])
            await ws.close()

    marks = []
    done = 0
    for _step in range(5):
        batch = cycles // 5
        await asyncio.gather(*(cycle(w, batch // 20) for w in range(20)))
        done += batch
        await asyncio.sleep(1)
        marks.append((done, rig.rss_kib()))
        print(f"after {done} connect/disconnect cycles: RSS {marks[-1][1]} KiB")
    print(f"growth from {marks[0][0]} to {marks[-1][0]} cycles: {marks[-1][1] - marks[0][1]} KiB")


async def bench_stop(rig: Rig, background: int, stops: int = 20) -> None:
    """Stop → the stand-in sees its connection closed, `stops` times, with `background` other
    streams running (both clocks are the wall clock here: the stand-in logs time.time())."""
    import uuid

    rig.start_app()
    url = f"http://127.0.0.1:{rig.standin_port}/__fake__/events"
    load = (
        asyncio.create_task(run_app(rig, background, 400, 50, 100, "load")) if background else None
    )
    await asyncio.sleep(3 if background else 0)
    [session] = rig.sessions(1)
    ws = await open_socket(rig, session)
    delays = []
    for i in range(stops):
        frame = {
            "type": "send",
            "conversation": None,
            "client_id": str(uuid.uuid4()),
            "content": prompt(f"stop-{i}", 400, 50, 50),
            "model": MODEL,
        }
        await ws.send(json.dumps(frame))
        conversation = None
        async with asyncio.timeout(30):
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "error":
                    raise RuntimeError(message)
                if message["type"] == "delta":
                    conversation = message["conversation"]
                    break
        stopped_at = time.time()
        await ws.send(json.dumps({"type": "stop", "conversation": conversation}))
        async with asyncio.timeout(30):
            async for raw in ws:
                if json.loads(raw)["type"] == "done":
                    break
        await asyncio.sleep(1.0)  # two frames a second: under the per-user rate limit
        events = json.loads(urllib.request.urlopen(url, timeout=5).read())
        closes = [e["time"] for e in events if e.get("during_stream") and e["time"] >= stopped_at]
        delays.append((min(closes) - stopped_at) * 1000 if closes else float("inf"))
    await ws.close()
    if load:
        load.cancel()
    print(line(f"stop → upstream closed ({background} other streams)", delays))


def bench_writes(rig: Rig, seconds: float) -> None:
    """Count INSERT/UPDATE statements, per table, for one reply through the real ASGI app."""
    os.environ.update(rig.env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    call_command("migrate", "--noinput", verbosity=0)
    counts: dict[str, int] = defaultdict(int)

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        words = sql.split()
        if words and words[0] in ("INSERT", "UPDATE", "DELETE"):
            table = words[2] if words[0] != "UPDATE" else words[1]
            counts[f"{words[0]} {table.strip(chr(34))}"] += 1
        return execute(sql, params, many, context)

    def wrap(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counter)

    connection_created.connect(wrap)
    from django.db import connections

    for conn in connections.all():  # the ones opened by migrate
        conn.close()
    asyncio.run(_one_reply(rig, seconds, counts))


async def _one_reply(rig: Rig, seconds: float, counts: dict[str, int]) -> None:
    import uuid

    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from chatapp.accounts.models import User
    from chatapp.asgi import application

    user = await User.objects.acreate(username=f"writes{uuid.uuid4().hex[:6]}")
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = client.cookies["sessionid"].value
    ws = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    await ws.connect()
    counts.clear()
    tokens = int(seconds * 20)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "client_id": str(uuid.uuid4()),
            "content": prompt("writes", tokens, 20, 100),
            "model": MODEL,
        }
    )
    deltas = 0
    while True:
        frame = await ws.receive_json_from(timeout=seconds + 30)
        deltas += frame["type"] == "delta"
        if frame["type"] == "done":
            break
    await asyncio.sleep(0.5)
    await ws.disconnect()
    total = sum(counts.values())
    print(f"one reply of {tokens} tokens over ~{seconds:.0f} s ({deltas} delta frames):")
    for name, count in sorted(counts.items()):
        print(f"  {count:3}  {name}")
    print(f"  {total:3}  writes in all")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["ttft", "chunks", "capacity", "stop", "writes", "memory"])
    parser.add_argument("--streams", type=int, default=0)
    parser.add_argument("--levels", default="50,100,200,300")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1, help="ttft: rounds one after another")
    parser.add_argument("--rate", type=float, default=50, help="chunks: tokens/s per stream")
    parser.add_argument("--spread", type=float, default=0.0, help="seconds to spread starts over")
    parser.add_argument("--scaled", action="store_true", help="2 daphnes, PostgreSQL + Redis")
    parser.add_argument("--watch", action="store_true", help="a second socket per stream")
    options = parser.parse_args()
    global SPREAD, WATCH
    SPREAD, WATCH = options.spread, options.watch
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or ''} "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as work:
        rig = Rig(Path(work), scaled=options.scaled)
        try:
            if options.what == "ttft":
                asyncio.run(bench_ttft(rig, options.streams or 50, options.rounds))
            elif options.what == "chunks":
                asyncio.run(bench_chunks(rig, options.streams or 100, rate=options.rate))
            elif options.what == "capacity":
                levels = [int(x) for x in options.levels.split(",")]
                asyncio.run(bench_capacity(rig, levels))
            elif options.what == "stop":
                asyncio.run(bench_stop(rig, options.streams))
            elif options.what == "writes":
                bench_writes(rig, options.seconds)
            else:
                asyncio.run(bench_memory(rig, options.idle, options.cycles))
        finally:
            rig.stop()


if __name__ == "__main__":
    main()
    _ = statistics  # kept for ad-hoc use in a REPL
