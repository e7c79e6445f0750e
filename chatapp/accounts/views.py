from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatapp import openrouter
from chatapp.accounts import pkce
from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.accounts.crypto import KeyDecryptionError
from chatapp.accounts.forms import OwnKeyCapForm, PasteKeyForm, SignupForm
from chatapp.accounts.keys import (
    akey_delete,
    akey_mark_invalid,
    akey_record_stats,
    akey_store,
    key_for_owner,
    operator_key_status,
)
from chatapp.accounts.models import OpenRouterKey, User
from chatapp.accounts.sections import arender_sections

logger = logging.getLogger(__name__)

# The account page asks OpenRouter for fresh limit/usage figures when they are older than this.
STATS_MAX_AGE = timedelta(minutes=2)
PAGE_REFRESH_TIMEOUT = 3.0


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.CHATAPP_SIGNUP_ENABLED:
        raise Http404("Sign-up is turned off on this server.")
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})


async def _auser(request: HttpRequest) -> User:
    user = await request.auser()
    # Templates read request.user; give them the user already loaded, so that rendering in
    # this async view runs no query of its own.
    request.user = user
    return user  # type: ignore[return-value]  # login_required guarantees a real User


def _account_redirect() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("account"))


# --- the account page -------------------------------------------------------------------------


@sensitive_variables()
async def _arefresh_stats(key: OpenRouterKey) -> str | None:
    """Ask OpenRouter for the key's limit and usage; return an error sentence, if any."""
    try:
        info = await openrouter.aget_key(api_key=key_for_owner(key))
    except KeyDecryptionError:
        return "This server can no longer read your stored key. Connect OpenRouter again."
    except openrouter.InvalidKey:
        await akey_mark_invalid(user=key.user)
        key.is_valid = False
        return openrouter.InvalidKey().message
    except openrouter.OpenRouterError as exc:
        return f"Could not refresh the figures: {exc.message}"
    await akey_record_stats(key=key, info=info)
    return None


async def _arefresh_stats_quickly(key: OpenRouterKey) -> str | None:
    # The page must not hang on a slow OpenRouter: it shows the last figures instead.
    try:
        async with asyncio.timeout(PAGE_REFRESH_TIMEOUT):
            return await _arefresh_stats(key)
    except TimeoutError:
        return "OpenRouter did not answer quickly, so these figures may be out of date."


def _site_url_mismatch(request: HttpRequest) -> str | None:
    """Return CHATAPP_SITE_URL when this page is open at another address.

    OpenRouter sends people back to CHATAPP_SITE_URL; at another address the browser has no
    session there and the connection cannot complete.
    """
    site = urlsplit(settings.CHATAPP_SITE_URL)
    here = (request.scheme, request.get_host())
    return None if here == (site.scheme, site.netloc) else settings.CHATAPP_SITE_URL


def _stale(key: OpenRouterKey) -> bool:
    return key.checked_at is None or timezone.now() - key.checked_at > STATS_MAX_AGE


async def _acontext(request: HttpRequest, user: User, **forms: Any) -> dict[str, Any]:
    key = await OpenRouterKey.objects.select_related("user").filter(user_id=user.pk).afirst()
    refresh_error = None
    if key is not None and key.is_valid and _stale(key):
        refresh_error = await _arefresh_stats_quickly(key)
    return {
        "key": key,
        "refresh_error": refresh_error,
        "site_url_mismatch": _site_url_mismatch(request),
        "operator_status": operator_key_status(user),
        "paste_form": forms.get("paste_form") or PasteKeyForm(),
        "cap_form": forms.get("cap_form")
        or OwnKeyCapForm(initial={"own_key_monthly_cap": user.own_key_monthly_cap}),
        "sections": await arender_sections(user),
    }


async def _arender_account(
    request: HttpRequest, user: User, *, status: int = 200, **forms: Any
) -> HttpResponse:
    context = await _acontext(request, user, **forms)
    return render(request, "accounts/account.html", context, status=status)


@never_cache
@login_required
@require_GET
async def account(request: AuthenticatedHttpRequest) -> HttpResponse:
    return await _arender_account(request, await _auser(request))


@login_required
@require_POST
async def own_key_cap(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = await _auser(request)
    form = OwnKeyCapForm(request.POST)
    if not form.is_valid():
        return await _arender_account(request, user, status=400, cap_form=form)
    user.own_key_monthly_cap = form.cleaned_data["own_key_monthly_cap"]
    await user.asave(update_fields=["own_key_monthly_cap"])
    messages.success(request, "Your monthly cap is saved.")
    return _account_redirect()


# --- linking a key ----------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login page names the site after the request's host; ours is CHATAPP_SITE_NAME."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "site_name": settings.CHATAPP_SITE_NAME}


@login_required
@require_POST
async def openrouter_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    start = await pkce.apkce_start(user=await _auser(request))
    await request.session.aset(pkce.SESSION_KEY, start.session_data)
    return HttpResponseRedirect(start.authorize_url)


@sensitive_variables()
async def _acomplete(request: HttpRequest, user: User) -> str | None:
    """Run the callback; return the failure sentence, or None when the key was linked."""
    state, code = pkce.split_callback_query(
        request.GET.get("state", ""), request.GET.get("code", "")
    )
    pending = await request.session.aget(pkce.SESSION_KEY)
    if pkce.pending_matches(pending, user=user, state=state):
        # One attempt per flow, whatever its outcome; a forged state leaves the real one be.
        await request.session.apop(pkce.SESSION_KEY)
    try:
        await pkce.apkce_complete(user=user, pending=pending, state=state, code=code)
    except pkce.PkceFailure as failure:
        logger.warning("OpenRouter connection of user %s failed: %s", user.pk, failure.kind)
        return failure.message
    except Exception as exc:
        # Only the class name: an exception's text could carry the code or the key.
        logger.error("OpenRouter connection of user %s crashed: %s", user.pk, type(exc).__name__)
        return f"Something went wrong while connecting OpenRouter. {pkce.START_AGAIN}"
    return None


@never_cache
@login_required
@require_GET
async def openrouter_callback(request: AuthenticatedHttpRequest) -> HttpResponse:
    error = await _acomplete(request, await _auser(request))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "OpenRouter is connected: your replies are paid with your key.")
    # The callback URL holds the code: it must not travel on as a Referer.
    response = _account_redirect()
    response["Referrer-Policy"] = "no-referrer"
    return response


@sensitive_variables()
async def _alink_pasted(user: User, api_key: str) -> str | None:
    """Check the key with GET /key and store it; return why not, or None when stored."""
    try:
        info = await openrouter.aget_key(api_key=api_key)
    except openrouter.InvalidKey:
        return (
            "OpenRouter does not accept this key: it is wrong, revoked or expired. "
            "Copy it again from openrouter.ai/keys."
        )
    except openrouter.OpenRouterError as exc:
        return f"The key could not be checked with OpenRouter, so it was not saved. {exc.message}"
    await akey_store(user=user, api_key=api_key, source=OpenRouterKey.Source.PASTED, info=info)
    logger.info("User %s pasted an OpenRouter key", user.pk)
    return None


@sensitive_post_parameters("api_key")
@login_required
@require_POST
async def openrouter_paste(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = await _auser(request)
    form = PasteKeyForm(request.POST)
    if form.is_valid():
        error = await _alink_pasted(user, form.cleaned_data["api_key"])
        if error is None:
            messages.success(request, "Your key is saved: replies are now paid with it.")
            return _account_redirect()
        form.add_error("api_key", error)
    return await _arender_account(request, user, status=400, paste_form=form)


@login_required
@require_POST
async def openrouter_disconnect(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = await _auser(request)
    if await akey_delete(user=user):
        logger.info("User %s disconnected their OpenRouter key", user.pk)
        messages.success(request, "Your OpenRouter key is deleted from this server.")
    else:
        messages.info(request, "There was no OpenRouter key to disconnect.")
    return _account_redirect()


@login_required
@require_POST
async def openrouter_refresh(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = await _auser(request)
    key = await OpenRouterKey.objects.select_related("user").filter(user_id=user.pk).afirst()
    if key is None:
        messages.info(request, "There is no OpenRouter key to refresh. Connect one first.")
        return _account_redirect()
    error = await _arefresh_stats(key)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Limit and usage are up to date.")
    return _account_redirect()
