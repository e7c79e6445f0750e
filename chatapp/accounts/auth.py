"""The type of a request whose person is signed in (a view behind @login_required)."""

from __future__ import annotations

from django.http import HttpRequest

from chatapp.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An HttpRequest whose `user` is a signed-in User, never AnonymousUser: annotate a view
    behind @login_required (or staff_member_required) with it, so what it passes on is typed."""

    user: User
