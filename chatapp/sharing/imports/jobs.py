"""Run an uploaded file's import in a background thread, with a progress record to poll.

The upload request only copies the file aside and starts the thread, so a 100 MB export never
holds a request open; the account page polls `import_job_data` once a second. Each conversation
is saved in its own transaction: a file that turns out to be malformed halfway keeps the
conversations before the fault (the summary names them) and nothing of the one it broke in.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import ModuleType
from typing import IO, Any, TypedDict

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.utils import timezone

from chatapp.accounts.models import User
from chatapp.sharing.imports import chatapp_json, chatgpt, openwebui
from chatapp.sharing.imports.records import FormatError, imported_conversation_save
from chatapp.sharing.imports.stream import iter_document
from chatapp.sharing.models import ImportJob

logger = logging.getLogger(__name__)

FORMATS: tuple[ModuleType, ...] = (chatgpt, openwebui, chatapp_json)
ZIP_MEMBER = "conversations.json"
PROGRESS_EVERY = 0.5  # seconds between progress writes
# A job that has not moved for this long lost its thread (the server restarted).
STALE_AFTER = timedelta(minutes=2)
SKIPPED_SHOWN = 50
MB = 1024 * 1024
UNZIPPED_FACTOR = 10  # a zip's conversations.json may unpack to this many times the cap


class ImportJobData(TypedDict):
    id: int
    filename: str
    format: str
    status: str
    percent: int
    conversations: int
    messages: int
    skipped: list[str]
    error: str
    finished: bool


def latest_job(*, user: User) -> ImportJob | None:
    return ImportJob.objects.filter(owner_id=user.pk).order_by("-created_at", "-pk").first()


def import_job_get(*, user: User, pk: int) -> ImportJob | None:
    return ImportJob.objects.filter(owner_id=user.pk, pk=pk).first()


def import_job_data(job: ImportJob) -> ImportJobData:
    status, error = job.status, job.error
    running = status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    if running and timezone.now() - job.updated_at > STALE_AFTER:
        status = ImportJob.Status.FAILED
        error = "The import stopped when the server restarted. Upload the file again."
    total = job.bytes_total or 1
    return {
        "id": job.pk,
        "filename": job.filename,
        "format": job.format,
        "status": status,
        "percent": 100
        if status == ImportJob.Status.DONE
        else min(99, job.bytes_read * 100 // total),
        "conversations": job.conversations_imported,
        "messages": job.messages_imported,
        "skipped": job.skipped,
        "error": error,
        "finished": status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
    }


def import_start(*, user: User, upload: UploadedFile) -> ImportJob:
    """Copy the upload aside, record the job and import it in a background thread."""
    fd, path = tempfile.mkstemp(prefix="chatapp-import-", suffix=".upload")
    with os.fdopen(fd, "wb") as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
    job = ImportJob.objects.create(
        owner=user, filename=(upload.name or "upload")[:255], bytes_total=upload.size or 0
    )
    thread = threading.Thread(
        target=_run_in_thread, args=(job.pk, path), name=f"import-{job.pk}", daemon=True
    )
    thread.start()
    return job


def _run_in_thread(job_id: int, path: str) -> None:
    try:
        import_run(job_id=job_id, path=path)
    finally:
        connection.close()  # this thread's own database connection


def import_run(*, job_id: int, path: str) -> ImportJob:
    """Import the file at `path` (then delete it) for job `job_id`; return the finished job."""
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    try:
        with _opened(path) as (stream, size):
            job.bytes_total = size
            _import_stream(job, stream)
        job.status = ImportJob.Status.DONE
    except FormatError as error:
        job.status, job.error = ImportJob.Status.FAILED, str(error)
    except Exception:
        logger.exception("import %s failed", job_id)
        job.status = ImportJob.Status.FAILED
        job.error = "The import failed because of an error on this server. Try again later."
    finally:
        os.unlink(path)
    job.skipped = job.skipped[:SKIPPED_SHOWN]
    job.save()
    return job


@contextmanager
def _opened(path: str) -> Iterator[tuple[IO[bytes], int]]:
    """Open the upload, or the conversations.json inside it if it is a zip (ChatGPT, ours)."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as stream:
            yield stream, os.path.getsize(path)
        return
    with zipfile.ZipFile(path) as archive:
        member = _zip_member(archive)
        if member.file_size > UNZIPPED_FACTOR * settings.CHATAPP_MAX_IMPORT_MB * MB:
            raise FormatError(
                f"The conversations.json in this zip is {member.file_size // MB:,} MB unpacked, "
                f"more than this server imports from one file."
            )
        with archive.open(member) as stream:
            yield stream, member.file_size


def _zip_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    for info in archive.infolist():
        if info.filename.rsplit("/", 1)[-1] == ZIP_MEMBER:
            return info
    raise FormatError(
        "This zip has no conversations.json. Upload the zip ChatGPT sent you, a chatapp "
        "export zip, or the JSON file itself."
    )


class _Progress:
    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.last = 0.0

    def bytes(self, n: int) -> None:
        self.job.bytes_read = n
        if time.monotonic() - self.last >= PROGRESS_EVERY:
            self.save()

    def save(self) -> None:
        self.last = time.monotonic()
        fields = ["bytes_read", "bytes_total", "format", "conversations_imported"]
        self.job.save(update_fields=[*fields, "messages_imported", "skipped", "updated_at"])


def _import_stream(job: ImportJob, stream: IO[bytes]) -> None:
    progress = _Progress(job)
    meta: dict[str, Any] = {}
    fmt: ModuleType | None = None
    for kind, key, value in iter_document(stream, progress.bytes):
        if kind == "meta":
            meta[key] = value
            continue
        if fmt is None:
            fmt = _detect(meta, value)
            job.format = fmt.NAME
        _import_one(job, fmt, key, value)
        progress.bytes(job.bytes_read)
    if fmt is None and meta:
        _detect(meta, None)  # says what kind of JSON this is not
    if fmt is None:
        raise FormatError("The export holds no conversations.")


def _detect(meta: dict[str, Any], first: Any) -> ModuleType:
    if meta:
        chatapp_json.check_header(meta)
        return chatapp_json
    for fmt in (chatgpt, openwebui):
        if fmt.matches(first):
            return fmt
    raise FormatError(
        "The first conversation in the file is neither a ChatGPT conversation (with a "
        "“mapping”) nor an Open WebUI chat (with a “chat”). Upload conversations.json from a "
        "ChatGPT export, an Open WebUI export, or a chatapp export."
    )


def _import_one(job: ImportJob, fmt: ModuleType, index: int, item: Any) -> None:
    title = item.get("title") if isinstance(item, dict) else None
    name = f"“{title}”" if isinstance(title, str) and title else f"Conversation {index}"
    if not fmt.matches(item):
        job.skipped.append(f"{name}: not a {fmt.NAME} conversation, left out.")
        return
    try:
        imported = fmt.conversation(item, index=index)
    except FormatError as error:
        job.skipped.append(f"{name}: {error}, left out.")
        return
    if not imported.messages:
        job.skipped.append(f"{name}: no messages, left out.")
        return
    job.messages_imported += imported_conversation_save(user=job.owner, imported=imported)
    job.conversations_imported += 1
    job.skipped.extend(f"{name}: {note}." for note in imported.left_out)
