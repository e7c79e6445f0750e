"""Key-linking fixtures: logged-in clients, the PKCE round trip, a failing upstream."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def location_of(url: str) -> str:
    """GET url without following redirects; return the Location it answers with."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=5)
    except urllib.error.HTTPError as redirect:
        if redirect.code in (301, 302, 303, 307):
            return str(redirect.headers["Location"])
        raise
    raise AssertionError(f"{url} did not redirect")


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def local_path(url: str) -> str:
    """The path and query of an absolute URL, for the Django test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@dataclass
class Flow:
    authorize_url: str  # where start sent the browser (OPENROUTER_AUTH_URL?…)
    callback_url: str  # where the stand-in sent it back (…/callback/?state=…&code=…)

    @property
    def state(self) -> str:
        return query_of(self.callback_url)["state"]

    @property
    def code(self) -> str:
        return query_of(self.callback_url)["code"]

    @property
    def challenge(self) -> str:
        return query_of(self.authorize_url)["code_challenge"]


def start_flow(client: Client) -> Flow:
    """Press "Connect OpenRouter" and let the stand-in approve at once."""
    response = client.post("/accounts/openrouter/start/")
    assert response.status_code == 302, response
    authorize_url = response["Location"]
    return Flow(authorize_url=authorize_url, callback_url=location_of(authorize_url))


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


class FailingUpstream:
    """A loopback HTTP server that fails every API call: an HTTP status, or no answer at all."""

    def __init__(self) -> None:
        self.status = 500
        self.hang = False
        self.calls: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.calls.append(self.path)
                if upstream.hang:
                    time.sleep(3)
                body = json.dumps({"error": {"code": upstream.status, "message": "Stub"}})
                self.send_response(upstream.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that gave up on a hanging answer leaves a broken pipe: expected here.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/api/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failing_upstream(fake_openrouter: Any) -> Iterator[FailingUpstream]:
    """OPENROUTER_BASE_URL pointed at a server that fails (the browser step stays the stand-in)."""
    upstream = FailingUpstream()
    with override_settings(OPENROUTER_BASE_URL=upstream.base_url, OPENROUTER_REQUEST_TIMEOUT=0.5):
        yield upstream
    upstream.stop()
