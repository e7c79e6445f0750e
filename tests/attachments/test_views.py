"""Attaching, removing and reading files over HTTP: the owner only, nothing stored on refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from chatapp.attachments.models import Attachment
from chatapp.attachments.services import MAX_UNSENT
from tests.attachments import files

pytestmark = pytest.mark.django_db


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def upload(client: Client, name: str, data: bytes):
    return client.post("/attachments/", {"file": SimpleUploadedFile(name, data)})


def test_an_image_is_stored_and_answered_with_what_the_composer_shows(
    alice_client, attachment_files
):
    response = upload(alice_client, "chart.png", files.png(64, 48))
    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "chart.png"
    assert (data["kind"], data["content_type"], data["needs"]) == ("image", "image/png", "image")
    assert (data["width"], data["height"]) == (64, 48)
    assert data["url"] == f"/attachments/{data['id']}/chart.png"
    assert data["thumbnail_url"] == f"/attachments/{data['id']}/thumbnail"
    assert len(stored_files(attachment_files)) == 2  # the image and its thumbnail
    assert not any("chart" in p.name for p in stored_files(attachment_files))  # random names


def test_a_pdf_answers_its_page_count_and_needs_no_modality_by_default(alice_client):
    data = upload(alice_client, "report.pdf", files.pdf(pages=2)).json()
    assert (data["kind"], data["pages"], data["needs"], data["thumbnail_url"]) == (
        "pdf",
        2,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("cat.png", files.WINDOWS_PROGRAM, "a Windows program"),
        ("logo.svg", files.SVG, "SVG files can carry scripts"),
        ("report.pdf", b"%PFD-1.4 not a pdf", "is not a PDF"),
        ("setup.exe", files.WINDOWS_PROGRAM, ".exe files are not accepted"),
    ],
)
def test_a_refused_file_gets_its_sentence_and_nothing_is_stored(
    alice_client, attachment_files, name, data, words
):
    response = upload(alice_client, name, data)
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert not Attachment.objects.exists()
    assert stored_files(attachment_files) == []


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(
    alice_client, attachment_files, settings
):
    settings.CHATAPP_MAX_UPLOAD_MB = 1
    response = upload(alice_client, "big.txt", b"a" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "at most 1 MB" in response.json()["error"]
    assert not Attachment.objects.exists()
    assert stored_files(attachment_files) == []


def test_a_request_declaring_more_than_the_cap_is_refused_unread(alice_client):
    response = alice_client.post(
        "/attachments/",
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(30 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "at most 20 MB" in response.json()["error"]


def test_an_upload_without_a_file_says_so(alice_client):
    response = alice_client.post("/attachments/", {})
    assert response.status_code == 400
    assert "No file arrived" in response.json()["error"]


def test_the_owner_reads_the_file_with_locked_down_headers(alice_client):
    data = upload(alice_client, "chart.png", files.png()).json()
    response = alice_client.get(data["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    thumbnail = alice_client.get(data["thumbnail_url"])
    assert thumbnail["Content-Type"] == "image/webp"


def test_a_pdf_and_a_text_file_always_download(alice_client):
    for name, body in [("report.pdf", files.pdf()), ("page.html", b"<script>alert(1)</script>")]:
        data = upload(alice_client, name, body).json()
        response = alice_client.get(data["url"])
        assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "text/plain; charset=utf-8"  # never served as HTML


def test_another_user_gets_404_for_the_file_the_thumbnail_and_remove(alice_client, bob_client):
    data = upload(alice_client, "chart.png", files.png()).json()
    assert bob_client.get(data["url"]).status_code == 404
    assert bob_client.get(data["thumbnail_url"]).status_code == 404
    assert bob_client.delete(f"/attachments/{data['id']}/").status_code == 404
    assert Attachment.objects.filter(pk=data["id"]).exists()


def test_a_signed_out_visitor_cannot_read_a_file(alice_client):
    data = upload(alice_client, "chart.png", files.png()).json()
    response = Client().get(data["url"])
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_remove_deletes_an_unsent_file_and_its_thumbnail(
    alice_client, attachment_files, django_capture_on_commit_callbacks
):
    data = upload(alice_client, "chart.png", files.png()).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(f"/attachments/{data['id']}/")
    assert response.status_code == 200
    assert not Attachment.objects.exists()
    assert stored_files(attachment_files) == []


def test_unsent_files_are_capped_per_person(alice_client, alice):
    for n in range(MAX_UNSENT):
        assert upload(alice_client, f"n{n}.txt", b"note").status_code == 201
    response = upload(alice_client, "one-more.txt", b"note")
    assert response.status_code == 400
    assert "Send or remove some of them" in response.json()["error"]


def test_files_left_unsent_for_a_day_are_purged_with_their_files(
    alice_client, attachment_files, django_capture_on_commit_callbacks
):
    old = upload(alice_client, "old.png", files.png()).json()
    Attachment.objects.filter(pk=old["id"]).update(created_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, "new.txt", b"fresh")
    assert list(Attachment.objects.values_list("name", flat=True)) == ["new.txt"]
    assert len(stored_files(attachment_files)) == 1
