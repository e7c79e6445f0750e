"""Only our own pages open the websocket: Origin compared by scheme, host and port.

Through the real ASGI app, signed in, so a refusal can only come from the origin check.
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from chatapp.asgi import application
from chatapp.core.origin import origin_allowed
from tests.chat.engine import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]

SITE = "https://chat.example.com"


@pytest.fixture
def dev_site(settings):
    settings.CHATAPP_SITE_URL = "http://localhost:8000"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]


@pytest.fixture
def public_site(settings):
    settings.CHATAPP_SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["chat.example.com"]


async def opens(user, *, origin: str | None, host: str) -> bool:
    headers = [
        (b"host", host.encode()),
        (b"cookie", f"sessionid={await session_cookie(user)}".encode()),
    ]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_a_page_on_the_port_the_socket_came_in_on_opens_it(alice, dev_site):
    assert await opens(alice, origin="http://127.0.0.1:8000", host="127.0.0.1:8000")
    assert await opens(alice, origin="http://localhost:8000", host="localhost:8000")


async def test_a_page_on_another_port_of_the_same_host_is_refused(alice, dev_site):
    assert not await opens(alice, origin="http://127.0.0.1:9000", host="127.0.0.1:8000")
    assert not await opens(alice, origin="http://localhost", host="localhost:8000")


async def test_a_page_of_a_host_not_allowed_is_refused_even_on_the_same_port(alice, dev_site):
    # DNS rebinding: evil.example resolves to us, so Host and Origin agree on it.
    assert not await opens(alice, origin="http://evil.example:8000", host="evil.example:8000")


async def test_the_site_urls_own_origin_opens_it_behind_a_proxy_that_rewrites_host(
    alice, public_site
):
    assert await opens(alice, origin=SITE, host="127.0.0.1:8001")
    assert await opens(alice, origin=SITE, host="chat.example.com")


async def test_a_plain_http_page_of_an_https_site_is_refused(alice, public_site):
    assert not await opens(alice, origin="http://chat.example.com", host="chat.example.com")


async def test_another_port_of_the_public_host_is_refused(alice, public_site):
    assert not await opens(alice, origin=f"{SITE}:8443", host="chat.example.com")


async def test_a_socket_without_an_origin_or_with_a_null_one_is_refused(alice, dev_site):
    assert not await opens(alice, origin=None, host="localhost:8000")
    assert not await opens(alice, origin="null", host="localhost:8000")


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://localhost", "localhost", True),  # both on port 80
        ("http://localhost:80", "localhost", True),
        ("https://localhost", "localhost", True),  # both on 443 (TLS in front of a dev site)
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://[::1]:9000", "[::1]:8000", False),
        ("HTTP://LOCALHOST:8000", "localhost:8000", True),
        ("ws://localhost:8000", "localhost:8000", False),  # no page has a ws: origin
        ("http://localhost:notaport", "localhost:8000", False),
        ("http://127.0.0.1:8000", "", False),
    ],
)
def test_origin_rules(origin, host, allowed):
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    site = "http://localhost:8000"
    assert origin_allowed(origin, host, site_url=site, allowed_hosts=hosts) is allowed
