"""Export Markdown and JSON of one conversation, and a zip of all of them."""

from __future__ import annotations

import io
import json
import zipfile

from django.test import Client

from chatapp.accounts.models import User
from tests.sharing.builders import KEY, Forked


def download(client: Client, url: str) -> tuple[str, str]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response["Content-Disposition"], response.content.decode()


def test_markdown_export_is_the_newest_branch_with_model_time_tokens_and_cost(
    alice_client: Client, forked: Forked
):
    disposition, text = download(alice_client, f"/c/{forked.conversation.pk}/export.md")
    assert disposition == f'attachment; filename="sourdough-help-{forked.conversation.pk}.md"'
    assert text.startswith("# Sourdough help\n")
    assert "Overnight in the fridge." in text  # the regenerated reply is the branch shown
    assert "4 hours" not in text
    assert "And the oven?" not in text
    assert (
        "### Assistant · `openai/gpt-4o-mini` · 2 Mar 2026, 09:32 UTC · 12 → 40 tokens · $0.000042"
        in text
    )
    assert "> Be brief." in text


def test_markdown_export_follows_the_branch_on_screen_with_reasoning_collapsed(
    alice_client: Client, forked: Forked
):
    _, text = download(
        alice_client, f"/c/{forked.conversation.pk}/export.md?leaf={forked.answer.pk}"
    )
    assert "About **4 hours** at room temperature." in text
    assert "<details>\n<summary>Reasoning</summary>\n\nThink about yeast.\n\n</details>" in text
    assert "```python\nprint('250 C')\n```" in text
    assert "Overnight" not in text


def test_json_export_is_versioned_with_money_as_decimal_strings(
    alice_client: Client, forked: Forked
):
    _, body = download(
        alice_client, f"/c/{forked.conversation.pk}/export.json?leaf={forked.answer.pk}"
    )
    document = json.loads(body)
    assert (document["format"], document["version"]) == ("chatapp-export", 1)
    [conv] = document["conversations"]
    assert conv["cost"] == "0.000377"  # every reply and the title call
    assert [m["content"] for m in conv["messages"]] == [
        "How long should dough rise?",
        "About **4 hours** at room temperature.",
        "And the oven?",
        "```python\nprint('250 C')\n```",
    ]
    reply = conv["messages"][1]
    assert reply["cost"] == "0.000125"
    assert reply["parent"] == forked.question.pk
    assert reply["prompt_tokens"] == 12
    assert reply["provider"] == "OpenAI"
    assert reply["created_at"] == "2026-03-02T09:31:00+00:00"


def test_json_export_of_all_branches_holds_every_reply(alice_client: Client, forked: Forked):
    _, body = download(alice_client, f"/c/{forked.conversation.pk}/export.json?branches=all")
    [conv] = json.loads(body)["conversations"]
    assert conv["branches"] == "all"
    assert len(conv["messages"]) == 5
    assert {m["role"] for m in conv["messages"]} == {"user", "assistant"}  # no title call


def test_exports_never_hold_the_key_its_hint_or_who_paid(alice_client: Client, forked: Forked):
    pk = forked.conversation.pk
    for url in (f"/c/{pk}/export.md", f"/c/{pk}/export.json?branches=all", "/export/all.zip"):
        body = alice_client.get(url).content
        if url.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                body = b"".join(archive.read(name) for name in archive.namelist())
        text = body.decode()
        assert KEY not in text
        assert "sk-or-v1" not in text
        assert "paid_by" not in text
        assert '"user"' not in text.replace('"role": "user"', "")
        assert "alice@example.com" not in text


def test_another_user_cannot_export_the_conversation(bob_client: Client, forked: Forked):
    pk = forked.conversation.pk
    assert bob_client.get(f"/c/{pk}/export.md").status_code == 404
    assert bob_client.get(f"/c/{pk}/export.json").status_code == 404


def test_export_needs_a_signed_in_owner(client: Client, forked: Forked):
    response = client.get(f"/c/{forked.conversation.pk}/export.json")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_zip_holds_only_my_conversations(alice_client: Client, forked: Forked, bob: User):
    from chatapp.chat.models import Conversation

    Conversation.objects.create(owner=bob, title="Bob's secret plans", model="x/y")
    response = alice_client.get("/export/all.zip")
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        document = json.loads(archive.read("conversations.json"))
    assert names == ["conversations.json", f"markdown/sourdough-help-{forked.conversation.pk}.md"]
    assert [c["title"] for c in document["conversations"]] == ["Sourdough help"]
    assert len(document["conversations"][0]["messages"]) == 5


def test_exports_carry_web_sources_routing_and_what_the_cache_saved(
    alice_client: Client, forked: Forked
):
    pk = forked.conversation.pk
    _, body = download(alice_client, f"/c/{pk}/export.json?leaf={forked.answer.pk}")
    [conv] = json.loads(body)["conversations"]
    assert (conv["web_search"], conv["provider_sort"]) == (True, "price")
    answer = conv["messages"][-1]
    assert answer["citations"] == [
        {"url": "https://bread.example/oven", "title": "Oven temperatures"}
    ]
    assert (answer["context_omitted"], answer["cache_savings"]) == (1, None)
    _, text = download(alice_client, f"/c/{pk}/export.md?leaf={forked.answer.pk}")
    assert "Sources:\n- [Oven temperatures](https://bread.example/oven)" in text
