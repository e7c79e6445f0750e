#!/usr/bin/env python3
"""The two commands of the quick start, and a few more for developers.

    python3 dev.py run     set everything up, start the app at http://localhost:8000
                           (--fake-openrouter: offline, against the stand-in OpenRouter)
    python3 dev.py test    set everything up, run the whole test suite (extra args go to pytest)
    python3 dev.py lint    ruff, mypy and the import rules (import-linter)

Needs nothing but Python 3.11+: it makes .venv, installs the project into it, migrates, and
runs. Standard library only, because it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed-from"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    """Create .venv and install the project, again only when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs under any python3
        sys.exit(f"chatapp needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("• creating .venv", flush=True)
        sh(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("• installing dependencies into .venv (first run takes a minute)", flush=True)
    sh(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def django_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatapp.settings", "PYTHONUNBUFFERED": "1"}
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    sh(PYTHON, "manage.py", *args, env=env)


def run_env(environ: dict[str, str]) -> dict[str, str]:
    """The environment of `dev.py run`: debug on, and OpenRouter's sign-in sends people back
    to the port this serves on (PORT) unless CHATAPP_SITE_URL says otherwise."""
    env = {**environ, "DJANGO_SETTINGS_MODULE": "chatapp.settings", "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("CHATAPP_SITE_URL", f"http://localhost:{env.get('PORT', '8000')}")
    return env


def run(args: list[str]) -> None:
    ensure_venv()
    env = run_env(dict(os.environ))
    manage("migrate", "--noinput", env=env)
    port = env.get("PORT", "8000")
    daphne = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", port, "chatapp.asgi:application"]
    if "--fake-openrouter" in args:
        run_with_fake_openrouter(daphne, env)
        return
    print(f"• chatapp is starting at http://localhost:{port}  (Ctrl+C stops it)", flush=True)
    os.execve(daphne[0], daphne, env)


def run_with_fake_openrouter(daphne: list[str], env: dict[str, str]) -> None:
    """Try it offline: the stand-in OpenRouter on FAKE_OPENROUTER_PORT (8001), the app on it."""
    fake_port = env.get("FAKE_OPENROUTER_PORT", "8001")
    fake = subprocess.Popen(
        [str(PYTHON), "-m", "chatapp.openrouter.fake", "--port", fake_port, "--markdown"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    root = f"http://127.0.0.1:{fake_port}"
    env.update(OPENROUTER_BASE_URL=f"{root}/api/v1", OPENROUTER_AUTH_URL=f"{root}/auth")
    # Any sign-up can chat at once: the stand-in accepts this made-up operator key.
    env.setdefault("OPENROUTER_API_KEY", "sk-or-v1-offline-operator")
    env.setdefault("CHATAPP_OPERATOR_KEY_POLICY", "all")
    # A plain `kill` stops both as Ctrl+C does (subprocess.run then kills daphne too).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        assert fake.stdout is not None
        if "listening on" not in fake.stdout.readline():  # it prints this once it accepts
            sys.exit(f"The stand-in OpenRouter did not start; is port {fake_port} free?")
        manage("sync_models", env=env)
        print(
            f"• chatapp (offline, stand-in OpenRouter at {root}) is starting at "
            f"http://localhost:{daphne[4]}  (Ctrl+C stops both)",
            flush=True,
        )
        subprocess.run(daphne, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        pass
    finally:
        fake.terminate()
        fake.wait()


# Tests run with debug off, as production does, so they need secrets: throwaway ones.
TEST_SECRETS = {
    "DJANGO_SECRET_KEY": "test-only-secret-key-not-for-production-0123456789abcdefghij",
    "CHATAPP_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTAxMjM0NTY=",
}


def test(args: list[str]) -> None:
    ensure_venv()
    env = django_env()
    for name, value in TEST_SECRETS.items():
        env.setdefault(name, value)
    # Static files are served as in production: hashed names, collected once per run.
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        note = "CI installs it; here: apt-get install chromium" if not env.get("CI") else ""
        print(f"• Chromium not found: browser tests will be skipped. {note}", flush=True)
    result = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)
    sys.exit(result.returncode)


def lint(args: list[str]) -> None:
    ensure_venv()
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "mypy", "chatapp", env=django_env(DJANGO_DEBUG="true"))
    sh(BIN / "lint-imports")  # the import rules in pyproject.toml (README, "Import rules")


COMMANDS = {"run": run, "test": test, "lint": lint}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
