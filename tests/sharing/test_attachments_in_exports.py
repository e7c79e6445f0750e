"""Attached files in exports and on shared pages: listed with the message, files in the zip,
never served to anyone but their owner."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from chatapp.attachments.models import Attachment
from chatapp.attachments.services import attachment_store
from tests.attachments import files
from tests.sharing.builders import Forked


@pytest.fixture
def attached(forked: Forked) -> Attachment:
    """The question of `forked` carries a 3-page PDF."""
    owner = forked.conversation.owner
    pdf = attachment_store(user=owner, name="recipe.pdf", data=files.pdf(pages=3))
    Attachment.objects.filter(pk=pdf.pk).update(conversation=forked.conversation)
    forked.question.attachments.add(pdf)
    return pdf


def test_json_export_lists_a_messages_attachments_and_the_zip_holds_the_files(
    alice_client: Client, forked: Forked, attached: Attachment
):
    body = alice_client.get(f"/c/{forked.conversation.pk}/export.json").content
    question = json.loads(body)["conversations"][0]["messages"][0]
    [record] = question["attachments"]
    assert record["name"] == "recipe.pdf"
    assert (record["kind"], record["pages"], record["size"]) == ("pdf", 3, attached.size)
    assert record["file"] == f"attachments/{attached.pk}-recipe.pdf"

    response = alice_client.get("/export/all.zip")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.read(record["file"]) == files.pdf(pages=3)


def test_markdown_export_names_the_attachments_under_their_message(
    alice_client: Client, forked: Forked, attached: Attachment
):
    text = alice_client.get(f"/c/{forked.conversation.pk}/export.md").content.decode()
    assert "How long should dough rise?\n\nAttached:\n- `recipe.pdf` (PDF, 3 pages, 1 KB)" in text


def test_a_shared_page_names_the_files_but_never_links_them(
    alice_client: Client, forked: Forked, attached: Attachment, client: Client
):
    response = alice_client.post(
        f"/c/{forked.conversation.pk}/share", "{}", content_type="application/json"
    )
    url = "/s/" + response.json()["share"]["url"].rsplit("/s/", 1)[1]
    html = client.get(url).content.decode()
    assert "recipe.pdf" in html
    assert "3 pages" in html
    assert f"/attachments/{attached.pk}" not in html
    assert client.get(f"/attachments/{attached.pk}/recipe.pdf").status_code == 302  # sign in
