from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from chatapp.accounts.models import User


@pytest.mark.django_db
def test_a_visitor_can_sign_up_and_is_logged_in(client: Client):
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "c@example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(username="carol").exists()
    assert client.get("/").wsgi_request.user.username == "carol"


@pytest.mark.django_db
def test_signup_shows_why_a_password_is_refused(client: Client):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "email": "", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.django_db
@override_settings(CHATAPP_SIGNUP_ENABLED=False)
def test_signup_can_be_turned_off(client: Client):
    assert client.get(reverse("signup")).status_code == 404


def test_login_and_logout(client: Client, alice: User):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client, db: None):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_every_page_sends_a_csp_without_inline_script(client: Client, db: None):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize("name", ["login", "signup"])
def test_the_sign_in_pages_carry_the_site_name_not_the_host(
    client: Client, db: None, name, settings
):
    settings.CHATAPP_SITE_NAME = "Acme Chat"
    text = client.get(reverse(name), HTTP_HOST="localhost").content.decode()
    assert "<title>" in text
    assert " · Acme Chat</title>" in text
    assert "<span>Acme Chat</span>" in text
    assert "localhost" not in text
