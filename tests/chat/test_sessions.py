"""A socket is signed in when it opens; signing out, or losing access, closes it (code 4401)
within a second, on every server process, so it cannot go on spending the user's key."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from chatapp.asgi import application
from tests.chat.engine import session_cookie
from tests.chat.frames import connect_socket

pytestmark = [pytest.mark.django_db(transaction=True)]

CSRF = "k" * 32


async def log_out(cookie: str) -> int:
    """POST /accounts/logout/ through the ASGI app, as the browser's other tab would."""
    http = HttpCommunicator(
        application,
        "POST",
        "/accounts/logout/",
        headers=[
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={cookie}; csrftoken={CSRF}".encode()),
            (b"x-csrftoken", CSRF.encode()),
        ],
    )
    response = await http.get_response(timeout=10)
    return int(response["status"])


async def closed_with(communicator, timeout: float = 1.0) -> int | None:
    message = await communicator.receive_output(timeout=timeout)
    return message.get("code") if message["type"] == "websocket.close" else None


async def test_logging_out_closes_the_sockets_of_that_session_only(alice):
    cookie = await session_cookie(alice)
    this_browser = await connect_socket(cookie)
    other_browser = await connect_socket(await session_cookie(alice))

    assert await log_out(cookie) == 302
    assert await closed_with(this_browser) == 4401
    assert await other_browser.receive_nothing(timeout=0.3)
    await other_browser.disconnect()


async def test_deactivating_a_user_closes_all_their_sockets(alice):
    sockets = [await connect_socket(await session_cookie(alice)) for _ in range(2)]
    alice.is_active = False
    await sync_to_async(alice.save)()
    for communicator in sockets:
        assert await closed_with(communicator) == 4401


async def test_revoking_staff_closes_their_sockets(staff):
    communicator = await connect_socket(await session_cookie(staff))
    staff.is_staff = False
    await sync_to_async(staff.save)()
    assert await closed_with(communicator) == 4401


async def test_other_changes_to_a_user_leave_their_sockets_open(alice):
    communicator = await connect_socket(await session_cookie(alice))
    alice.last_model = "openai/gpt-4o"
    await sync_to_async(alice.save)()
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
