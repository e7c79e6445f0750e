"""Attach (upload), remove, and read attachments: the owner only, never from a public URL.

Files are served with `Content-Disposition`, `X-Content-Type-Options: nosniff` and a CSP that
allows nothing (and sandboxes the document): images and audio show inline (they were decoded
and re-encoded, or verified, when attached); PDFs and text always download.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.attachments.models import Attachment, attachment_storage
from chatapp.attachments.services import (
    Refused,
    attachment_data,
    attachment_remove,
    attachment_store,
    max_upload_bytes,
    too_large,
)

# Multipart framing around one file: a request longer than the cap plus this is refused unread.
MULTIPART_SLACK = 64 * 1024
INLINE_KINDS = (Attachment.Kind.IMAGE, Attachment.Kind.AUDIO)
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


@require_POST
@login_required
def upload(request: AuthenticatedHttpRequest) -> JsonResponse:
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > max_upload_bytes() + MULTIPART_SLACK:
        return _refused(str(too_large("That file", declared)), status=413)
    upload = request.FILES.get("file")
    if upload is None:
        return _refused("No file arrived. Choose a file and attach it again.")
    name = upload.name or "file"
    if upload.size is not None and upload.size > max_upload_bytes():
        return _refused(str(too_large(name, upload.size)), status=413)
    try:
        row = attachment_store(user=request.user, name=name, data=upload.read())
    except Refused as refusal:
        return _refused(str(refusal))
    return JsonResponse(attachment_data(row), status=201)


@require_http_methods(["DELETE"])
@login_required
def remove(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    if not attachment_remove(user=request.user, pk=pk):
        raise Http404("No such attachment waiting to be sent.")
    return JsonResponse({"removed": pk}, status=200)


@require_GET
@login_required
def file(request: AuthenticatedHttpRequest, pk: int, name: str) -> FileResponse:
    row = _owned(request, pk)
    response = FileResponse(
        attachment_storage().open(row.file.name, "rb"),
        content_type=row.content_type,
        as_attachment=row.kind not in INLINE_KINDS,
        filename=row.name,
    )
    return _locked_down(response)


@require_GET
@login_required
def thumbnail(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    row = _owned(request, pk)
    if not row.thumbnail:
        raise Http404("This attachment has no thumbnail.")
    response = FileResponse(
        attachment_storage().open(row.thumbnail.name, "rb"), content_type="image/webp"
    )
    return _locked_down(response)


def _owned(request: AuthenticatedHttpRequest, pk: int) -> Attachment:
    row = Attachment.objects.filter(pk=pk, owner=request.user).first()
    if row is None:  # someone else's and none at all look the same
        raise Http404("No such attachment.")
    return row


def _locked_down(response: FileResponse) -> FileResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # The owner's browser may keep it; no shared cache may (it is behind a session).
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
