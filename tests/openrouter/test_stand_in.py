"""The stand-in itself: what it serves, as a subprocess and in-process, on a real port."""

from __future__ import annotations

import http.client
import json
from decimal import Decimal

import pytest

from chatapp.openrouter import Finish, OpenRouterError, aget_generation
from chatapp.openrouter.fake.catalogue import build_catalogue
from tests.eventually import eventually
from tests.openrouter.helpers import KEY, collect, of_type


def post(port: int, path: str, body: dict, key: str = KEY) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST", path, json.dumps(body), {"Authorization": f"Bearer {key}", "X-Title": "t"}
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, dict(response.getheaders()), text


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, text


CHAT = "/api/v1/chat/completions"


def ask(text: str, **extra) -> dict:
    return {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def test_the_management_command_serves_models_and_logs_requests(fake_openrouter_process):
    fake_openrouter_process.clear()

    status, body = get(fake_openrouter_process.port, "/api/v1/models")

    assert status == 200
    assert len(json.loads(body)["data"]) == len(build_catalogue())
    assert [r["path"] for r in fake_openrouter_process.requests()] == ["/api/v1/models"]


def test_the_management_command_streams_and_records_closes(fake_openrouter_process):
    fake_openrouter_process.clear()

    status, headers, text = post(fake_openrouter_process.port, CHAT, ask("hi", stream=True))

    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert text.startswith(": OPENROUTER PROCESSING\n\n")
    assert text.endswith("data: [DONE]\n\n")
    sent = fake_openrouter_process.requests()[-1]
    assert sent["headers"]["x-title"] == "t"
    assert sent["json"]["messages"][0]["content"] == "hi"
    assert any(e["path"] == CHAT for e in fake_openrouter_process.events())


def test_its_catalogue_is_large_varied_and_the_same_every_time():
    models = build_catalogue()

    assert len(models) >= 250
    assert models == build_catalogue()
    prices = {m["pricing"]["prompt"] for m in models if "pricing" in m}
    assert len(prices) > 15
    assert {"image"} <= {x for m in models for x in m["architecture"]["input_modalities"]}
    assert len({m["context_length"] for m in models}) > 5
    assert sum(m["id"].endswith(":free") for m in models) > 20


def test_it_sends_keepalive_comments_while_waiting_for_the_first_token(fake_openrouter):
    fake_openrouter.server.config.keepalive_s = 0.05

    _, _, text = post(fake_openrouter.port, CHAT, ask("[[ttft:300]] [[tokens:2]]", stream=True))

    before_first_token = text.split("data: ", 1)[0]
    assert before_first_token.count(": OPENROUTER PROCESSING") >= 3


def test_it_answers_without_streaming_when_asked(fake_openrouter):
    status, _, text = post(fake_openrouter.port, CHAT, ask("[[echo]] just this"))

    body = json.loads(text)
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "just this"
    assert body["usage"]["completion_tokens"] == 2


def test_the_markdown_marker_answers_with_a_markdown_document(fake_openrouter):
    _, _, text = post(fake_openrouter.port, CHAT, ask("[[markdown]] show me"))

    content = json.loads(text)["choices"][0]["message"]["content"]
    assert content.startswith("## ")
    assert "```python\n" in content
    assert "| model |" in content


def test_with_markdown_on_every_plain_message_gets_the_markdown_sample(fake_openrouter):
    fake_openrouter.server.config.markdown = True
    try:
        _, _, plain = post(fake_openrouter.port, CHAT, ask("what are decorators?"))
        _, _, marked = post(fake_openrouter.port, CHAT, ask("[[echo]] verbatim"))
    finally:
        fake_openrouter.server.config.markdown = False

    assert "```python" in json.loads(plain)["choices"][0]["message"]["content"]
    assert json.loads(marked)["choices"][0]["message"]["content"] == "verbatim"


@pytest.mark.parametrize(
    ("key", "status"),
    [("sk-or-v1-invalid-x", 401), ("sk-or-v1-broke-x", 402), ("not-a-key", 401), ("", 401)],
)
def test_it_refuses_keys_as_documented(fake_openrouter, key, status):
    code, _, text = post(fake_openrouter.port, CHAT, ask("hi", stream=True), key=key)

    assert code == status
    assert json.loads(text)["error"]["code"] == status


def test_it_refuses_an_auth_request_without_a_callback(fake_openrouter):
    status, text = get(fake_openrouter.port, "/auth?code_challenge=abc")

    assert status == 400
    assert "callback_url" in text


def test_it_sends_a_retry_after_header_on_request(fake_openrouter):
    status, headers, _ = post(
        fake_openrouter.port, CHAT, ask("[[error:429]] [[retry-after:7]]", stream=True)
    )

    assert (status, headers["Retry-After"]) == (429, "7")


async def test_it_keeps_generations_private_to_their_key(fake_openrouter):
    generation_id = of_type(await collect("hello"), Finish)[0].generation_id

    other = await aget_generation(api_key="sk-or-v1-someone-else", generation_id=generation_id)
    own = await aget_generation(api_key=KEY, generation_id=generation_id)

    assert other is None
    assert own is not None


async def test_it_bills_the_key_that_streamed(fake_openrouter):
    key = "sk-or-v1-billing-check"
    await collect("hello", key=key)

    # The stand-in settles once its last chunk is out, which can be just after [DONE] arrives.
    await eventually(lambda: fake_openrouter.server.spent[key], failure="nothing billed")
    spent = Decimal(fake_openrouter.server.spent[key]) / 10**12

    assert spent > 0


async def test_it_rejects_a_model_it_removed(fake_openrouter):
    fake_openrouter.remove_model("openai/gpt-4o-mini")

    with pytest.raises(OpenRouterError) as caught:
        await collect("hello")

    assert caught.value.status == 400
