"""dev.py run: the address OpenRouter sends people back to follows the port it serves on."""

from __future__ import annotations

import dev


def test_the_site_url_follows_port_when_it_is_not_set():
    env = dev.run_env({"PORT": "8610"})
    assert env["CHATAPP_SITE_URL"] == "http://localhost:8610"
    assert env["DJANGO_DEBUG"] == "true"


def test_the_default_port_gives_the_default_site_url():
    assert dev.run_env({})["CHATAPP_SITE_URL"] == "http://localhost:8000"


def test_a_site_url_that_is_set_is_kept():
    env = dev.run_env({"PORT": "8610", "CHATAPP_SITE_URL": "https://chat.example.com"})
    assert env["CHATAPP_SITE_URL"] == "https://chat.example.com"
