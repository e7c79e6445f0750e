"""Which pages may open a websocket: ours, compared by scheme, host and port.

A browser sends the cookie of the server it connects to, whoever's page asks; the Origin header
is the only thing that says whose page it is. Channels' AllowedHostsOriginValidator compares host
names only, so a page on another port of the same host (another app, a dev server) could open
the socket as the signed-in person. An origin is accepted when it is

* the origin of CHATAPP_SITE_URL (scheme, host and port), or
* http(s)://<a host in DJANGO_ALLOWED_HOSTS>[:port], where the port is the one the request came
  in on (the Host header's; absent, the default of the origin's scheme), and the scheme is
  https when the site is (a page served over plain http is not ours then).

No Origin (not a browser) and an opaque `null` origin are refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
# What Django itself allows when debugging with an empty ALLOWED_HOSTS.
DEBUG_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


def origin_allowed(
    origin: str | None, host: str | None, *, site_url: str, allowed_hosts: list[str]
) -> bool:
    """Return whether a page at `origin` may open a socket that came in with Host `host`."""
    parsed = _origin(origin)
    site = _origin(site_url)
    if parsed is None or site is None:
        return False
    if parsed == site:
        return True
    scheme, hostname, port = parsed
    if site[0] == "https" and scheme != "https":
        return False
    host_name, host_port = split_domain_port(host or "")
    if not host_name:
        return False
    request_port = int(host_port) if host_port else DEFAULT_PORTS[scheme]
    return port == request_port and validate_host(hostname, allowed_hosts)


def _origin(url: str | None) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) with the default port filled in, or None if not http(s)."""
    if not url:
        return None
    try:
        parts: SplitResult = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, hostname, port if port is not None else DEFAULT_PORTS[parts.scheme]


class SiteOriginValidator:
    """ASGI middleware: pass a websocket on only if `origin_allowed`; deny it otherwise."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        allowed_hosts = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
        if origin_allowed(
            _header(headers, b"origin"),
            _header(headers, b"host"),
            site_url=settings.CHATAPP_SITE_URL,
            allowed_hosts=allowed_hosts,
        ):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")
