"""Share links: a read-only snapshot anyone with the link can open, until sharing stops."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from django.test import Client

from chatapp.chat.models import Message
from chatapp.sharing.models import Share, SharedMessage
from tests.sharing.builders import KEY, Forked, add


def publish(client: Client, forked: Forked, **body: object) -> dict:
    response = client.post(
        f"/c/{forked.conversation.pk}/share", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["share"]


def path_of(share: dict) -> str:
    return "/s/" + share["url"].rsplit("/s/", 1)[1]


def test_the_link_is_a_long_random_token_that_is_not_stored_in_clear(
    alice_client: Client, forked: Forked
):
    share = publish(alice_client, forked)
    token = path_of(share).removeprefix("/s/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes = 256 bits
    row = Share.objects.get()
    assert token not in (row.token_digest, row.token_sealed)


def test_anyone_signed_out_reads_the_shared_branch(
    alice_client: Client, forked: Forked, client: Client
):
    share = publish(alice_client, forked, leaf=forked.answer.pk)
    response = client.get(path_of(share))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sourdough help" in html
    assert "And the oven?" in html
    assert (
        "About **4 hours** at room temperature." in html
    )  # the source text, rendered by shared.js
    assert "Overnight in the fridge." not in html  # the other branch


def test_another_signed_in_user_sees_the_same_read_only_page(
    alice_client: Client, bob_client: Client, client: Client, forked: Forked
):
    url = path_of(publish(alice_client, forked))
    as_bob = bob_client.get(url).content.decode()
    signed_out = client.get(url).content.decode()
    strip = lambda html: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)  # noqa: E731
    assert strip(as_bob) == strip(signed_out)
    assert "Message" not in re.findall(r'aria-label="([^"]+)"', as_bob)  # no composer


def test_the_shared_page_shows_no_cost_tokens_key_or_account(
    alice_client: Client, client: Client, forked: Forked
):
    html = client.get(
        path_of(publish(alice_client, forked, leaf=forked.answer.pk))
    ).content.decode()
    for leak in (
        KEY,
        "sk-or-v1",
        "alice",
        "alice@example.com",
        "$0.",
        "0.000125",
        "tokens",
        "gen-123",
    ):
        assert leak not in html, leak


def test_the_owners_name_is_shown_only_when_they_choose(
    alice_client: Client, client: Client, forked: Forked
):
    forked.conversation.owner.first_name = "Alice"
    forked.conversation.owner.last_name = "Martin"
    forked.conversation.owner.save()
    url = path_of(publish(alice_client, forked))
    assert "Alice Martin" not in client.get(url).content.decode()
    publish(alice_client, forked, show_name=True, snapshot=False)
    assert "Shared by <strong>Alice Martin</strong>" in client.get(url).content.decode()


def test_the_page_asks_not_to_be_indexed_and_sends_no_referrer(
    alice_client: Client, client: Client, forked: Forked
):
    response = client.get(path_of(publish(alice_client, forked)))
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert '<meta name="robots" content="noindex' in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the markdown renders from shared.js


def test_later_messages_and_edits_do_not_reach_the_snapshot(
    alice_client: Client, client: Client, forked: Forked
):
    url = path_of(publish(alice_client, forked, leaf=forked.answer.pk))
    add(forked.conversation, "user", "A brand new question", parent=forked.answer, minutes=9)
    Message.objects.filter(pk=forked.question.pk).update(content="Edited afterwards")
    html = client.get(url).content.decode()
    assert "A brand new question" not in html
    assert "Edited afterwards" not in html
    assert "How long should dough rise?" in html


def test_the_owner_sees_the_share_is_out_of_date_and_can_update_the_same_link(
    alice_client: Client, client: Client, forked: Forked
):
    first = publish(alice_client, forked, leaf=forked.answer.pk)
    newest = add(
        forked.conversation, "user", "A brand new question", parent=forked.answer, minutes=9
    )
    state = alice_client.get(f"/c/{forked.conversation.pk}/share?leaf={newest.pk}").json()["share"]
    assert state["out_of_date"] is True
    updated = publish(alice_client, forked, leaf=newest.pk)
    assert updated["url"] == first["url"]
    assert updated["out_of_date"] is False
    assert "A brand new question" in client.get(path_of(updated)).content.decode()


def test_stop_sharing_makes_the_link_404_at_once(
    alice_client: Client, client: Client, forked: Forked
):
    url = path_of(publish(alice_client, forked))
    assert client.get(url).status_code == 200
    response = alice_client.post(f"/c/{forked.conversation.pk}/share/stop")
    assert response.json() == {"share": None}
    assert client.get(url).status_code == 404
    assert not SharedMessage.objects.exists()


def test_stop_sharing_from_the_account_page(alice_client: Client, client: Client, forked: Forked):
    url = path_of(publish(alice_client, forked))
    account = alice_client.get("/accounts/").content.decode()
    assert "Shared links" in account
    assert url in account
    response = alice_client.post(f"/shares/{Share.objects.get().pk}/stop")
    assert response.status_code == 302
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "token",
    [
        secrets.token_urlsafe(32),
        "0",
        "A" * 43,
        "x" * 500,
        "..%2f..%2fadmin",
    ],
)
def test_ids_cannot_be_guessed_or_enumerated(
    alice_client: Client, client: Client, forked: Forked, token: str
):
    publish(alice_client, forked)
    assert client.get(f"/s/{token}").status_code == 404


def test_a_token_one_character_off_is_as_unknown_as_a_random_one(
    alice_client: Client, client: Client, forked: Forked
):
    token = path_of(publish(alice_client, forked)).removeprefix("/s/")
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    # Lookup is by the token's SHA-256, so a near miss shares nothing with the stored digest.
    assert client.get(f"/s/{near}").status_code == 404


def test_only_the_owner_can_share_or_stop(
    bob_client: Client, alice_client: Client, client: Client, forked: Forked
):
    url = path_of(publish(alice_client, forked))
    pk = forked.conversation.pk
    assert (
        bob_client.post(f"/c/{pk}/share", "{}", content_type="application/json").status_code == 404
    )
    assert bob_client.post(f"/c/{pk}/share/stop").status_code == 404
    assert bob_client.post(f"/shares/{Share.objects.get().pk}/stop").status_code == 404
    assert client.get(url).status_code == 200


def test_deleting_the_conversation_ends_its_share(
    alice_client: Client, client: Client, forked: Forked
):
    url = path_of(publish(alice_client, forked))
    alice_client.post(f"/c/{forked.conversation.pk}/delete")
    assert client.get(url).status_code == 404


def test_shares_are_listed_in_the_admin_without_their_token(alice_client: Client, forked: Forked):
    from chatapp.accounts.models import User

    token = path_of(publish(alice_client, forked)).removeprefix("/s/")
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    listing = admin.get("/admin/sharing/share/").content.decode()
    assert "Sourdough help" in listing
    page = admin.get(f"/admin/sharing/share/{Share.objects.get().pk}/change/").content.decode()
    assert token not in page
    assert Share.objects.get().token_digest not in page
    assert "How long should dough rise?" in page  # the snapshot, read-only


def test_the_shared_copy_keeps_the_web_sources(
    alice_client: Client, client: Client, forked: Forked
):
    html = client.get(
        path_of(publish(alice_client, forked, leaf=forked.answer.pk))
    ).content.decode()
    assert (
        '<a href="https://bread.example/oven" target="_blank" rel="noopener noreferrer nofollow"'
        in html
    )
