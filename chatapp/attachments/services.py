"""Storing, sending and removing attachments; every function is scoped to the acting user.

A file is checked and stored when it is attached (`attachment_store`), before the message is
sent, so the person learns at once if it is refused. Sending links the stored files to the
message (`attachments_for_message`); files never sent are removed after UNSENT_KEPT.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TypedDict

from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from chatapp.accounts.models import User
from chatapp.attachments.models import Attachment, attachment_storage
from chatapp.attachments.validation import Inspected, Refused, inspect_upload

MAX_FILES_PER_MESSAGE = 10
# Files attached and not (yet) sent, per person: enough for any message, not a free file store.
MAX_UNSENT = 30
UNSENT_KEPT = timedelta(days=1)

__all__ = ["AttachmentData", "Refused", "attachment_data", "attachment_store"]


class AttachmentData(TypedDict):
    """The wire form of an attachment (upload answers, and every message's `attachments`)."""

    id: int
    name: str
    kind: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    pages: int | None
    duration: float | None
    url: str
    thumbnail_url: str | None
    # The input modality a model must list to read it, with the conversation's PDF engine
    # (None: every model can). See `modality_needed`.
    needs: str | None


def max_upload_bytes() -> int:
    return int(settings.CHATAPP_MAX_UPLOAD_MB) * 1024 * 1024


def max_message_bytes() -> int:
    return int(settings.CHATAPP_MAX_MESSAGE_UPLOAD_MB) * 1024 * 1024


def too_large(name: str, size: int) -> Refused:
    return Refused(
        f"“{name}” is {megabytes(size)}; a file may be at most "
        f"{settings.CHATAPP_MAX_UPLOAD_MB} MB. Make it smaller (or split it) and attach it again."
    )


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


# --- attaching ---------------------------------------------------------------------------------


def attachment_store(*, user: User, name: str, data: bytes) -> Attachment:
    """Check `data` and store it as an unsent attachment of `user`, or raise Refused (then
    nothing is stored)."""
    if len(data) > max_upload_bytes():
        raise too_large(name, len(data))
    unsent = Attachment.objects.filter(owner=user, conversation=None)
    if unsent.filter(created_at__gte=timezone.now() - UNSENT_KEPT).count() >= MAX_UNSENT:
        raise Refused(
            f"You have {MAX_UNSENT} files attached that are not sent yet, the most there may be. "
            "Send or remove some of them, then attach this one."
        )
    inspected = inspect_upload(name, data)
    attachments_unsent_purge()
    return _save(user=user, inspected=inspected)


def _save(*, user: User, inspected: Inspected) -> Attachment:
    storage = attachment_storage()
    stem = f"{user.pk}/{uuid.uuid4().hex}"
    saved = [storage.save(stem + inspected.suffix, ContentFile(inspected.data))]
    try:
        if inspected.thumbnail is not None:
            saved.append(storage.save(stem + ".thumb.webp", ContentFile(inspected.thumbnail)))
        return Attachment.objects.create(
            owner=user,
            name=inspected.name,
            kind=inspected.kind,
            content_type=inspected.content_type,
            size=len(inspected.data),
            sha256=inspected.sha256,
            width=inspected.width,
            height=inspected.height,
            pages=inspected.pages,
            duration=inspected.duration,
            file=saved[0],
            thumbnail=saved[1] if len(saved) > 1 else "",
        )
    except BaseException:
        for name in saved:  # the row was not written: leave no file behind
            storage.delete(name)
        raise


def attachment_remove(*, user: User, pk: int) -> bool:
    """Remove an attachment not sent yet (the chip's "Remove" button). False: no such unsent
    attachment of `user` (a sent one goes with its conversation)."""
    row = Attachment.objects.filter(pk=pk, owner=user, conversation=None).first()
    if row is None:
        return False
    row.delete()
    return True


def attachments_unsent_purge() -> int:
    """Remove attachments nobody sent within UNSENT_KEPT (a closed tab, a changed mind)."""
    cutoff = timezone.now() - UNSENT_KEPT
    old = list(Attachment.objects.filter(conversation=None, created_at__lt=cutoff)[:200])
    for row in old:
        row.delete()  # one by one: each takes its files with it (signals.py)
    return len(old)


# --- sending -----------------------------------------------------------------------------------


def attachments_for_message(
    *, user: User, ids: Sequence[int], conversation_id: int
) -> list[Attachment]:
    """Return `user`'s attachments `ids`, in that order, for a message of `conversation_id`,
    or raise Refused: an id that is not theirs, is sent in another conversation, or too many
    or too large files together. Unsent ones join the conversation."""
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_FILES_PER_MESSAGE:
        raise Refused(
            f"A message may carry at most {MAX_FILES_PER_MESSAGE} files; this one has "
            f"{len(ids)}. Remove some, or send them in two messages."
        )
    rows = {
        row.pk: row for row in Attachment.objects.select_for_update().filter(pk__in=ids, owner=user)
    }
    missing = [pk for pk in ids if pk not in rows]
    elsewhere = [r for r in rows.values() if r.conversation_id not in (None, conversation_id)]
    if missing or elsewhere:
        raise Refused(
            "One of the attached files is gone (it was removed, or left unsent for over a day). "
            "Remove it from the message, attach it again, and send."
        )
    found = [rows[pk] for pk in ids]
    total = sum(row.size for row in found)
    if total > max_message_bytes():
        raise Refused(
            f"The files of this message add up to {megabytes(total)}; one message may carry at "
            f"most {settings.CHATAPP_MAX_MESSAGE_UPLOAD_MB} MB. Send some of them in another "
            "message."
        )
    unsent = [row.pk for row in found if row.conversation_id is None]
    if unsent:
        Attachment.objects.filter(pk__in=unsent).update(conversation_id=conversation_id)
        for row in found:
            row.conversation_id = conversation_id
    return found


# --- reading -----------------------------------------------------------------------------------


def modality_needed(attachment: Attachment, *, pdf_engine: str = "") -> str | None:
    """The input modality a model must list to read `attachment` (None: any model can).

    A PDF needs "file" only when the conversation sends it to the model itself ("native"):
    with the other engines OpenRouter turns it into text first, for any model."""
    if attachment.kind == Attachment.Kind.IMAGE:
        return "image"
    if attachment.kind == Attachment.Kind.AUDIO:
        return "audio"
    if attachment.kind == Attachment.Kind.PDF and pdf_engine == "native":
        return "file"
    return None


def attachment_data(attachment: Attachment, *, pdf_engine: str = "") -> AttachmentData:
    pk = attachment.pk
    return {
        "id": pk,
        "name": attachment.name,
        "kind": attachment.kind,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "pages": attachment.pages,
        "duration": attachment.duration,
        "url": reverse("attachments:file", args=[pk, attachment.name]),
        "thumbnail_url": reverse("attachments:thumbnail", args=[pk])
        if attachment.thumbnail
        else None,
        "needs": modality_needed(attachment, pdf_engine=pdf_engine),
    }


def attachment_read(attachment: Attachment) -> bytes:
    with attachment_storage().open(attachment.file.name, "rb") as handle:
        data: bytes = handle.read()
    return data


def attachments_of_messages(message_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """Each message's attachments, in the order they were attached (one query)."""
    found: dict[int, list[Attachment]] = {}
    if not message_ids:
        return found
    links = (
        Attachment.messages.through.objects.filter(message_id__in=list(message_ids))
        .select_related("attachment")
        .order_by("id")
    )
    for link in links:
        found.setdefault(link.message_id, []).append(link.attachment)
    return found
