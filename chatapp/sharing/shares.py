"""Share links: a frozen copy of one branch, readable by anyone who has the link.

The token is 256 random bits (secrets.token_urlsafe(32)). Only its SHA-256 is indexed, so
finding a share is one equality lookup on a digest: a guessed token that shares a prefix with a
real one is no closer to it, and an unknown token costs the same lookup as a known one.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from chatapp.accounts.crypto import KeyDecryptionError, decrypt_api_key, encrypt_api_key
from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Conversation, Message
from chatapp.sharing.branches import branch, transcript_messages
from chatapp.sharing.models import Share, SharedMessage

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64


class ShareData(TypedDict):
    url: str
    title: str
    messages: int
    show_name: bool
    owner_name: str
    snapshot_at: str
    out_of_date: bool


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def share_url(token: str) -> str:
    return settings.CHATAPP_SITE_URL.rstrip("/") + reverse("sharing:shared", args=[token])


def share_token(share: Share) -> str | None:
    """Return the link's token for its owner, or None if this server can no longer read it."""
    # The same owner-bound sealing the OpenRouter keys use (Fernet, CHATAPP_ENCRYPTION_KEYS).
    try:
        return decrypt_api_key(owner_id=share.owner_id, ciphertext=share.token_sealed)
    except KeyDecryptionError:
        return None


def share_get(*, user: User, conversation: Conversation) -> Share | None:
    return Share.objects.filter(owner_id=user.pk, conversation_id=conversation.pk).first()


def share_by_token(token: str) -> Share | None:
    """Return the share the link's token opens, or None (unknown, stopped or malformed)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return Share.objects.filter(token_digest=token_digest(token)).first()


@transaction.atomic
def share_publish(
    *, user: User, conversation: Conversation, leaf: int | None, show_name: bool
) -> Share:
    """Share the branch ending at `leaf` (or copy it again over an existing share's link)."""
    share = share_get(user=user, conversation=conversation)
    if share is None:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        share = Share(
            owner=user,
            conversation=conversation,
            token_digest=token_digest(token),
            token_sealed=encrypt_api_key(owner_id=user.pk, api_key=token),
        )
    messages = branch(transcript_messages(conversation), leaf=leaf)
    share.title = conversation.title or "Untitled chat"
    share.owner_name = display_name(user) if show_name else ""
    share.leaf_message_id = messages[-1].pk if messages else None
    share.snapshot_at = timezone.now()
    share.save()
    share.messages.all().delete()
    names = _model_names(messages)
    SharedMessage.objects.bulk_create(
        SharedMessage(
            share=share,
            position=position,
            role=m.role,
            content=m.content,
            reasoning=m.reasoning,
            model=names.get(m.model_used or m.model, m.model_used or m.model)[:200],
            citations=list(m.citations),
            attachments=[
                {"name": a.name, "kind": a.kind, "size": a.size, "pages": a.pages}
                for a in m.attachments.all()
            ],
            created_at=m.created_at,
        )
        for position, m in enumerate(messages)
    )
    return share


def _model_names(messages: list[Message]) -> dict[str, str]:
    """Return the catalogue's names ("OpenAI: GPT-4o-mini") of the models in `messages`."""
    ids = {m.model_used or m.model for m in messages} - {""}
    rows = CatalogModel.objects.filter(model_id__in=ids).values_list("model_id", "name")
    return dict(rows)


def share_set_show_name(*, share: Share, show_name: bool) -> Share:
    share.owner_name = display_name(share.owner) if show_name else ""
    share.save(update_fields=["owner_name"])
    return share


def share_stop(*, share: Share) -> None:
    """Delete the share and its copy: the link answers 404 from this moment."""
    share.delete()


def share_out_of_date(share: Share, *, leaf: int | None) -> bool:
    """Whether the conversation's branch ending at `leaf` differs from the copy shared."""
    messages = branch(transcript_messages(share.conversation), leaf=leaf)
    return (messages[-1].pk if messages else None) != share.leaf_message_id


def share_data(share: Share, *, leaf: int | None = None) -> ShareData:
    token = share_token(share)
    return {
        "url": share_url(token) if token else "",
        "title": share.title,
        "messages": share.messages.count(),
        "show_name": bool(share.owner_name),
        "owner_name": share.owner_name,
        "snapshot_at": share.snapshot_at.isoformat(),
        "out_of_date": share_out_of_date(share, leaf=leaf),
    }


def shares_for(*, user: User) -> list[dict[str, Any]]:
    """Return the user's shares for the account page, newest first, each with its link."""
    rows = Share.objects.filter(owner_id=user.pk).order_by("-created_at", "-pk")
    return [{"share": s, "url": share_url(t) if (t := share_token(s)) else ""} for s in rows]
