"""Import conversations: ChatGPT and Open WebUI exports, our own JSON, and broken files."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client

from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Conversation, Message
from chatapp.sharing.branches import branch, transcript_messages
from chatapp.sharing.imports import stream
from chatapp.sharing.imports.jobs import import_run
from chatapp.sharing.models import ImportJob
from chatapp.usage.models import UserUsageDaily
from chatapp.usage.rollup import usage_rollup_drift
from tests.eventually import eventually_blocking
from tests.sharing.builders import Forked, signed_in

FIXTURES = Path(__file__).parent / "fixtures"
CHATGPT = FIXTURES / "chatgpt_conversations.json"
OPENWEBUI = FIXTURES / "openwebui_export.json"


def run(user: User, data: bytes, tmp_path: Path, name: str = "conversations.json") -> ImportJob:
    path = tmp_path / f"upload-{ImportJob.objects.count()}"
    path.write_bytes(data)
    job = ImportJob.objects.create(owner=user, filename=name)
    finished = import_run(job_id=job.pk, path=str(path))
    assert not path.exists()  # the copy of the upload is deleted once read
    return finished


def shown(conversation: Conversation) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in branch(transcript_messages(conversation))]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- ChatGPT --------------------------------------------------------------------------------------


def test_a_chatgpt_export_lands_as_conversations_with_their_branches(alice: User, tmp_path: Path):
    job = run(alice, CHATGPT.read_bytes(), tmp_path)
    assert (job.status, job.format, job.error) == ("done", "ChatGPT", "")
    assert (job.conversations_imported, job.messages_imported) == (2, 7)
    fib = Conversation.objects.get(owner=alice, title="Fibonacci in Python")
    roots = fib.messages.filter(parent=None).order_by("created_at")
    assert [m.content for m in roots] == [
        "Write a fibonacci function",
        "*[An image was attached here in ChatGPT; images are not imported.]*\n\n"
        "Write a fibonacci function, and run it for n=10",
    ]  # the edited question is a second branch
    assert shown(fib)[1:] == [
        (
            "assistant",
            "```python\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
            "fib(10)\n```",
        ),
        ("assistant", "`fib(10)` is **55**."),  # the tool's output between them is left out
    ]
    first_reply = fib.messages.get(content__startswith="Here you go")
    assert "```python\ndef fib(n):" in first_reply.content
    assert first_reply.model_used == "gpt-4"


def test_chatgpt_times_system_prompt_and_what_was_left_out(alice: User, tmp_path: Path):
    job = run(alice, CHATGPT.read_bytes(), tmp_path)
    fib = Conversation.objects.get(title="Fibonacci in Python")
    assert fib.created_at == at(1709370000.123456)
    assert fib.messages.get(content="Write a fibonacci function").created_at == at(1709370001.0)
    assert fib.updated_at == at(1709370108.0)
    pirate = Conversation.objects.get(title="Pirate greetings")
    assert pirate.system_prompt == "You are a pirate. Answer like one."
    assert shown(pirate) == [("user", "Say hello"), ("assistant", "Ahoy, matey!")]
    assert job.skipped == [
        "“Fibonacci in Python”: 1 image named but not imported.",
        "“Fibonacci in Python”: 1 tool message (browsing, code output) left out.",
    ]


def test_imported_messages_are_marked_and_never_count_as_spend(alice: User, tmp_path: Path):
    run(alice, CHATGPT.read_bytes(), tmp_path)
    messages = Message.objects.filter(user=alice)
    assert messages.count() == 7
    assert all(m.imported and m.cost is None and m.paid_by == "" for m in messages)
    assert all(m.status == "complete" for m in messages)
    assert not UserUsageDaily.objects.exists()
    assert usage_rollup_drift() == []


def test_a_chatgpt_zip_is_read_from_its_conversations_json(alice: User, tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.writestr("conversations.json", CHATGPT.read_bytes())
    job = run(alice, buffer.getvalue(), tmp_path, name="export.zip")
    assert (job.status, job.conversations_imported) == ("done", 2)


def test_items_split_across_any_read_boundary_parse_the_same(
    alice: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stream, "CHUNK", 7)
    job = run(alice, CHATGPT.read_bytes(), tmp_path)
    assert (job.status, job.conversations_imported, job.messages_imported) == ("done", 2, 7)


def test_an_imported_chat_goes_on_with_its_model_when_openrouter_has_it(
    alice: User, tmp_path: Path
):
    CatalogModel.objects.create(model_id="openai/gpt-4o", name="OpenAI: GPT-4o")
    run(alice, CHATGPT.read_bytes(), tmp_path)
    assert Conversation.objects.get(title="Fibonacci in Python").model == "openai/gpt-4o"
    # Its "openai/gpt-4o-mini" is not in this catalogue: it goes on with the default instead.
    assert Conversation.objects.get(title="Pirate greetings").model == "openai/gpt-4o"


# --- Open WebUI -----------------------------------------------------------------------------------


def test_an_open_webui_export_lands_with_branches_reasoning_and_system_prompt(
    alice: User, tmp_path: Path
):
    job = run(alice, OPENWEBUI.read_bytes(), tmp_path, name="chat-export.json")
    assert (job.status, job.format, job.conversations_imported) == ("done", "Open WebUI", 2)
    chat = Conversation.objects.get(title="Explain recursion")
    assert chat.system_prompt == "Explain like I am five."
    assert chat.model == "openai/gpt-4o-mini"  # "llama3.1:8b" is no OpenRouter model
    assert chat.messages.filter(model_used="llama3.1:8b").count() == 1
    question = chat.messages.get(role="user")
    assert question.created_at == at(1717000000)
    assert question.children.count() == 2
    newest = question.children.order_by("created_at").last()
    assert newest.content == "Imagine two mirrors facing each other."
    assert newest.reasoning == "The user wants a simple answer.\nUse an analogy."
    assert newest.model_used == "qwen3:4b"
    old = Conversation.objects.get(title="Old flat chat")
    assert shown(old) == [("user", "Ping"), ("assistant", "Pong")]


# --- our own format: the round trip ---------------------------------------------------------------


def test_export_then_import_gives_the_same_messages_branches_and_text(
    alice_client: Client, alice: User, forked: Forked, tmp_path: Path
):
    exported = alice_client.get(f"/c/{forked.conversation.pk}/export.json?branches=all").content
    job = run(alice, exported, tmp_path, name="sourdough.json")
    assert (job.status, job.format, job.conversations_imported) == ("done", "chatapp", 1)
    copy = Conversation.objects.exclude(pk=forked.conversation.pk).get()
    assert (copy.title, copy.model, copy.system_prompt) == (
        "Sourdough help",
        "openai/gpt-4o-mini",
        "Be brief.",
    )

    def tree(conv: Conversation) -> set[tuple[str, str, str | None, datetime, int | None]]:
        rows = transcript_messages(conv)
        text = {m.pk: m.content for m in rows}
        return {
            (m.role, m.content, text.get(m.parent_id), m.created_at, m.prompt_tokens) for m in rows
        }

    assert tree(copy) == tree(forked.conversation)
    assert shown(copy) == shown(forked.conversation)
    assert {m.cost for m in copy.messages.all()} == {None}
    assert (copy.web_search, copy.provider_sort) == (True, "price")
    answer = copy.messages.get(content__startswith="```python")
    assert answer.citations == forked.answer.citations
    assert answer.context_omitted == 1
    assert set(copy.messages.values_list("generation_id", flat=True)) == {""}


def test_the_zip_of_all_conversations_imports_back(
    alice_client: Client, alice: User, forked: Forked, tmp_path: Path
):
    job = run(alice, alice_client.get("/export/all.zip").content, tmp_path, name="all.zip")
    assert (job.status, job.conversations_imported, job.messages_imported) == ("done", 1, 5)


def test_a_newer_version_of_our_format_is_refused_with_a_reason(alice: User, tmp_path: Path):
    document = {"format": "chatapp-export", "version": 99, "conversations": []}
    job = run(alice, json.dumps(document).encode(), tmp_path)
    assert job.status == "failed"
    assert "version 99" in job.error
    assert "reads versions 1 to 1" in job.error


# --- broken input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (b"", "The file is empty."),
        (b"hello there", "This is not a JSON export: it should start with"),
        (b"\xff\xfe\x00garbage", "The file is not UTF-8 text"),
        (b'{"name": "my notes"}', "its “format” is not “chatapp-export”"),
        (b'[{"foo": 1}]', "neither a ChatGPT conversation"),
        (b"[]", "The export holds no conversations."),
        (b'[{"mapping": {}} {"mapping": {}}]', "expected “,” after conversation 1"),
        (b'[{"mapping": {}}] trailing', "unexpected text after the end of the export"),
    ],
)
def test_malformed_files_fail_with_a_sentence_naming_the_problem(
    alice: User, tmp_path: Path, data: bytes, sentence: str
):
    job = run(alice, data, tmp_path)
    assert job.status == "failed"
    assert sentence in job.error
    assert not Conversation.objects.exists()


def test_a_truncated_file_keeps_the_whole_conversations_before_the_cut_and_says_so(
    alice: User, tmp_path: Path
):
    data = CHATGPT.read_bytes()
    cut = data[: data.index(b'"Pirate greetings"') + 200]
    job = run(alice, cut, tmp_path)
    assert job.status == "failed"
    assert job.error == (
        "The file ends in the middle of conversation 2: it looks cut off. "
        "Download the export again."
    )
    assert list(Conversation.objects.values_list("title", flat=True)) == ["Fibonacci in Python"]


def test_a_conversation_that_cannot_be_read_is_left_out_whole_and_named(
    alice: User, tmp_path: Path
):
    items = json.loads(CHATGPT.read_bytes())
    items.insert(1, {"title": "Broken one", "mapping": ["not", "a", "tree"]})
    job = run(alice, json.dumps(items).encode(), tmp_path)
    assert (job.status, job.conversations_imported) == ("done", 2)
    assert "“Broken one”: conversation 2 has no message tree (“mapping”), left out." in job.skipped
    assert not Conversation.objects.filter(title="Broken one").exists()


# --- the upload and its progress ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_upload_returns_at_once_and_the_page_polls_the_background_import(alice: User):
    client = signed_in(alice)
    with CHATGPT.open("rb") as upload:
        response = client.post("/import/", {"file": upload})
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["filename"] == "chatgpt_conversations.json"
    status_url = f"/import/{job['id']}"
    job = eventually_blocking(
        lambda: (j := client.get(status_url).json()["job"])["finished"] and j,
        failure="the background import never finished",
    )
    assert (job["status"], job["percent"], job["conversations"]) == ("done", 100, 2)
    assert "Fibonacci in Python" in client.get("/").content.decode()  # in the sidebar


def test_a_file_over_the_cap_is_refused_before_it_is_read(
    alice_client: Client, settings: object, tmp_path: Path
):
    settings.CHATAPP_MAX_IMPORT_MB = 1  # type: ignore[attr-defined]
    big = tmp_path / "conversations.json"
    big.write_bytes(b"[" + b" " * (2 * 1024 * 1024) + b"]")
    with big.open("rb") as upload:
        response = alice_client.post("/import/", {"file": upload})
    assert response.status_code == 413
    assert response.json()["error"].startswith(
        "That file is 2.0 MB; this server imports files of up to 1 MB"
    )
    assert not ImportJob.objects.exists()


def test_someone_elses_import_is_not_found(alice: User, bob_client: Client):
    job = ImportJob.objects.create(owner=alice, filename="mine.json")
    assert bob_client.get(f"/import/{job.pk}").status_code == 404


def test_an_upload_without_a_file_says_so(alice_client: Client):
    response = alice_client.post("/import/", {})
    assert response.json() == {"error": "Choose a file to import first."}


def test_the_account_page_offers_import_and_export_of_everything(alice_client: Client):
    html = alice_client.get("/accounts/").content.decode()
    assert '<label for="import-file">Import conversations</label>' in html
    assert 'href="/export/all.zip"' in html


def test_a_large_file_is_read_one_conversation_at_a_time(tmp_path: Path):
    item = {"title": "x", "mapping": {"a": {"message": None, "parent": None, "children": []}}}
    item["padding"] = "p" * 4000
    size = len(json.dumps(item)) + 2
    count = 2000  # about 8 MB
    data = ("[" + ", ".join(json.dumps(item) for _ in range(count)) + "]").encode()
    reads: list[int] = []
    seen = 0
    with io.BytesIO(data) as source:
        for kind, _, _ in stream.iter_document(source, reads.append):
            seen += 1
            assert kind == "item"
            # Never more than one read (a megabyte) ahead of the conversation just decoded.
            assert reads[-1] - seen * size <= stream.CHUNK + size
    assert seen == count
