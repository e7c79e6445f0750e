"""Live-server fixtures for browser tests: the real app, the stand-in OpenRouter, real Chromium.

Everything runs as it does in production, on real loopback ports:

``live_openrouter`` (session)
    ``python manage.py fake_openrouter --port <free>`` as a subprocess. Yields ``LiveOpenRouter``
    with ``.base_url`` (…/api/v1), ``.auth_url`` and ``.port``. LIVE_OPENROUTER_URL=http://host:port
    uses an already running stand-in instead.

``live_app`` (session)
    daphne serving ``chatapp.asgi:application`` on a free port, with DJANGO_DEBUG=false and the
    test secrets from the environment (``python3 dev.py test`` sets them), against its OWN
    database: a migrated SQLite file in a temp dir, or, when DATABASE_URL is PostgreSQL, a fresh
    database on that server (dropped afterwards). REDIS_URL is passed through. It points
    OPENROUTER_BASE_URL / OPENROUTER_AUTH_URL at ``live_openrouter`` and CHATAPP_SITE_URL at
    itself, and runs with the operator key route open (OPENROUTER_API_KEY=sk-or-v1-operator-test,
    CHATAPP_OPERATOR_KEY_POLICY=all), so every user has a usable key unless a test says otherwise
    (``live_app.set_user(name, operator_key_access="deny")``). Yields ``LiveApp``:
      ``.url``                         http://127.0.0.1:<port>
      ``.create_user(name, password)`` a user in the live database (returns its id)
      ``.shell(code)``                 run Python in ``manage.py shell`` against the live DB;
                                       returns stdout (print JSON to read data back)
      ``.query(code)``                 the same, parsing stdout as JSON
      ``.set_user(name, **fields)``    update a user's fields (e.g. favorite_models, last_model)
      ``.log``                         path of the server's log file

``browser`` (session)    Playwright Chromium (/usr/bin/chromium, headless).
``page``                 a fresh context + page per test (base_url = live_app.url, timeouts 10 s);
                         JS errors are collected in ``page_errors`` (a list of strings).
``user``                 a new user (``LiveUser``: .username, .password, .id) in the live DB.
``signed_in_page``       ``page`` logged in as ``user`` through the login form, on the chat page.
``screenshot``           ``screenshot(page, "name")`` saves tests/artifacts/<name>.png.

Helpers to import: ``log_in(page, username, password)``, ``sign_up(page, username, password)``.

Static files are served with the manifest storage (DEBUG off): ``python3 dev.py test`` runs
collectstatic first; when run bare, ``live_app`` collects them if the manifest is missing.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Throwaway secrets for a bare `pytest` run; `python3 dev.py test` sets the same ones.
TEST_SECRETS = {
    "DJANGO_SECRET_KEY": "test-only-secret-key-not-for-production-0123456789abcdefghij",
    "CHATAPP_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTAxMjM0NTY=",
}
OPERATOR_KEY = "sk-or-v1-operator-test"
PASSWORD = "correct horse battery staple"
START_TIMEOUT = 40.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test in this folder drives the browser, whether or not it says so.
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll url until it answers (any HTTP status), or fail with the process's log."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=2)  # loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise RuntimeError(f"{url} did not come up (exit code {process.poll()}). Log:\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def base_env() -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatapp.settings", "PYTHONUNBUFFERED": "1"}
    for name, value in TEST_SECRETS.items():
        env.setdefault(name, value)
    env["DJANGO_DEBUG"] = "false"
    env["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    return env


def manage(*args: str, env: dict[str, str], input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- the stand-in OpenRouter ---------------------------------------------------------------------


@dataclass(frozen=True)
class LiveOpenRouter:
    port: int
    base_url: str
    auth_url: str


@pytest.fixture(scope="session")
def live_openrouter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveOpenRouter]:
    external = os.environ.get("LIVE_OPENROUTER_URL", "").rstrip("/")
    if external:  # an already running stand-in, e.g. while debugging it
        port = urlsplit(external).port or 80
        yield LiveOpenRouter(port=port, base_url=f"{external}/api/v1", auth_url=f"{external}/auth")
        return
    port = free_port()
    log = tmp_path_factory.mktemp("fake_openrouter") / "server.log"
    env = base_env()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "fake_openrouter", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    root = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{root}/api/v1/models", process, log)
        yield LiveOpenRouter(port=port, base_url=f"{root}/api/v1", auth_url=f"{root}/auth")
    finally:
        stop(process)


# --- the app -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveUser:
    username: str
    password: str
    id: int


@dataclass
class LiveApp:
    url: str
    env: dict[str, str]
    log: Path

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the live database; return what it printed."""
        return manage("shell", "--no-imports", "-c", code, env=self.env)

    def query(self, code: str) -> Any:
        """Run code that prints one JSON document as its last line, and return it parsed."""
        return json.loads(self.shell(code).strip().splitlines()[-1])

    def create_user(self, username: str, password: str = PASSWORD, **fields: Any) -> LiveUser:
        code = (
            "import json\n"
            "from chatapp.accounts.models import User\n"
            f"u = User.objects.create_user({username!r}, password={password!r},"
            f" **json.loads({json.dumps(fields)!r}))\n"
            "print(json.dumps(u.pk))"
        )
        return LiveUser(username=username, password=password, id=self.query(code))

    def set_user(self, username: str, **fields: Any) -> None:
        code = (
            "import json\n"
            "from chatapp.accounts.models import User\n"
            f"User.objects.filter(username={username!r})"
            f".update(**json.loads({json.dumps(fields)!r}))"
        )
        self.shell(code)


def _postgres_database(url: str) -> Iterator[str]:
    """Create a fresh database on the server of url; yield its URL; drop it afterwards."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'chatapp'}_live_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres:", "postgresql:")):
        yield from _postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('live_db') / 'live.sqlite3'}"


# The catalogue from the stand-in, so the picker has its few hundred models from the first page.
LOAD_CATALOGUE = """
import importlib
services = None
try:
    services = importlib.import_module("chatapp.catalog.services")
except ImportError:
    pass
sync = getattr(services, "catalog_sync", None)
if sync is not None:
    sync()
else:  # until the catalogue sync exists: the same rows, straight from GET /models
    import json, urllib.request
    from datetime import UTC, datetime
    from decimal import Decimal
    from django.conf import settings
    from chatapp.catalog.models import CatalogModel
    url = settings.OPENROUTER_BASE_URL + "/models"
    for m in json.load(urllib.request.urlopen(url))["data"]:
        price = lambda k, p=m.get("pricing") or {}: Decimal(p.get(k) or "0")
        arch = m.get("architecture") or {}
        CatalogModel.objects.update_or_create(model_id=m["id"], defaults=dict(
            name=m["name"], context_length=m.get("context_length"),
            prompt_price=price("prompt"), completion_price=price("completion"),
            input_modalities=arch.get("input_modalities", []),
            output_modalities=arch.get("output_modalities", []),
            supported_parameters=m.get("supported_parameters", []),
            is_free=m["id"].endswith(":free") or price("prompt") + price("completion") == 0,
            upstream_created=datetime.fromtimestamp(m.get("created") or 0, UTC),
        ))
"""


def _ensure_static(env: dict[str, str]) -> None:
    if not (ROOT / ".staticfiles" / "staticfiles.json").exists():
        manage("collectstatic", "--noinput", "--verbosity", "0", env=env)


@pytest.fixture(scope="session")
def live_app(
    live_openrouter: LiveOpenRouter,
    live_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveApp]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = base_env()
    env.update(
        DATABASE_URL=live_database_url,
        OPENROUTER_BASE_URL=live_openrouter.base_url,
        OPENROUTER_AUTH_URL=live_openrouter.auth_url,
        CHATAPP_SITE_URL=url,
        OPENROUTER_API_KEY=OPERATOR_KEY,
        CHATAPP_OPERATOR_KEY_POLICY="all",
        CHATAPP_MEDIA_ROOT=str(tmp_path_factory.mktemp("media")),
    )
    manage("migrate", "--noinput", env=env)
    manage("shell", "--no-imports", "-c", LOAD_CATALOGUE, env=env)
    _ensure_static(env)
    log = tmp_path_factory.mktemp("live_app") / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["chatapp.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_http(f"{url}/healthz", process, log)
        yield LiveApp(url=url, env=env, log=log)
    finally:
        stop(process)


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    request.node.page_errors = errors
    yield page
    context.close()


@pytest.fixture
def page_errors(page: Any, request: pytest.FixtureRequest) -> list[str]:
    """JS exceptions and console errors (CSP violations show up here) seen by `page`."""
    return request.node.page_errors  # type: ignore[no-any-return]


@pytest.fixture
def user(live_app: LiveApp) -> LiveUser:
    return live_app.create_user(f"u{uuid.uuid4().hex[:10]}")


def log_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def sign_up(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(lambda url: "/accounts/signup/" not in url)


@pytest.fixture
def signed_in_page(page: Any, user: LiveUser) -> Any:
    log_in(page, user.username, user.password)
    return page


@pytest.fixture
def screenshot() -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
