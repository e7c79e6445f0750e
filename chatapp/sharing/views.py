"""Export downloads, the share dialog's endpoints, the public shared page, and the import upload.

Thin: each view checks the owner and calls export.py, shares.py or imports/jobs.py.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.chat.models import Conversation
from chatapp.chat.selectors import conversation_find
from chatapp.core.http import json_object
from chatapp.sharing import export, shares
from chatapp.sharing.imports.jobs import import_job_data, import_job_get, import_start
from chatapp.sharing.models import Share

MB = 1024 * 1024
# Room for the multipart envelope around the file itself.
UPLOAD_OVERHEAD = 64 * 1024


def _owned(request: AuthenticatedHttpRequest, pk: int) -> Conversation:
    conversation = conversation_find(user=request.user, pk=pk)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _leaf(request: HttpRequest) -> int | None:
    value = request.GET.get("leaf") or request.POST.get("leaf")
    return int(value) if value and value.isdigit() else None


def _download(file: export.ExportFile) -> HttpResponse:
    response = HttpResponse(file.body, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- export -------------------------------------------------------------------------------------


@require_GET
@login_required
def export_markdown(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    conversation = _owned(request, pk)
    return _download(export.export_markdown(conversation=conversation, leaf=_leaf(request)))


@require_GET
@login_required
def export_json(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    conversation = _owned(request, pk)
    branches: export.Branches = "all" if request.GET.get("branches") == "all" else "current"
    file = export.export_json(conversation=conversation, branches=branches, leaf=_leaf(request))
    return _download(file)


@require_GET
@login_required
def export_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _download(export.export_all_zip(user=request.user))


# --- share: the owner's dialog ------------------------------------------------------------------


def _share_reply(share: Share | None, leaf: int | None) -> JsonResponse:
    return JsonResponse({"share": shares.share_data(share, leaf=leaf) if share else None})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def share(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """GET: the conversation's share, if any. POST {leaf, show_name}: share the branch ending at
    `leaf`, or copy it again over the same link; with "snapshot": false only show_name changes."""
    conversation = _owned(request, pk)
    user = request.user
    if request.method == "GET":
        return _share_reply(shares.share_get(user=user, conversation=conversation), _leaf(request))
    body = json_object(request)
    leaf = body.get("leaf") if isinstance(body.get("leaf"), int) else None
    current = shares.share_get(user=user, conversation=conversation)
    if body.get("snapshot", True) or current is None:
        current = shares.share_publish(
            user=user, conversation=conversation, leaf=leaf, show_name=bool(body.get("show_name"))
        )
    else:
        current = shares.share_set_show_name(share=current, show_name=bool(body.get("show_name")))
    return _share_reply(current, leaf)


@login_required
@require_POST
def share_stop(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    current = shares.share_get(user=request.user, conversation=_owned(request, pk))
    if current is not None:
        shares.share_stop(share=current)
    return JsonResponse({"share": None})


@login_required
@require_POST
def share_stop_from_account(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    current = get_object_or_404(Share, pk=pk, owner_id=request.user.pk)
    shares.share_stop(share=current)
    messages.success(request, f"“{current.title}” is no longer shared; its link is dead.")
    return redirect("account")


# --- share: the public page ---------------------------------------------------------------------


@never_cache
@require_GET
def shared(request: HttpRequest, token: str) -> HttpResponse:
    found = shares.share_by_token(token)
    if found is None:
        raise Http404("No such shared conversation.")
    context = {"share": found, "messages": list(found.messages.all())}
    response = render(request, "sharing/shared.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- import -------------------------------------------------------------------------------------


def _too_big(size: int) -> str:
    cap = settings.CHATAPP_MAX_IMPORT_MB
    return (
        f"That file is {size / MB:,.1f} MB; this server imports files of up to {cap} MB "
        "(CHATAPP_MAX_IMPORT_MB). Split the export, or ask the administrator to raise the limit."
    )


@login_required
@require_POST
def import_upload(request: AuthenticatedHttpRequest) -> JsonResponse:
    cap = settings.CHATAPP_MAX_IMPORT_MB * MB
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > cap + UPLOAD_OVERHEAD:  # refuse before Django reads the body
        return JsonResponse({"error": _too_big(length)}, status=413)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "Choose a file to import first."}, status=400)
    if (upload.size or 0) > cap:
        return JsonResponse({"error": _too_big(upload.size or 0)}, status=413)
    job = import_start(user=request.user, upload=upload)
    return JsonResponse({"job": import_job_data(job)}, status=202)


@never_cache
@login_required
@require_GET
def import_status(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    job = import_job_get(user=request.user, pk=pk)
    if job is None:
        raise Http404("No such import.")
    return JsonResponse({"job": import_job_data(job)})
