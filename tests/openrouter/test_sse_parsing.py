"""The SSE stream gives the same events however the network cuts it into reads.

These feed bytes straight into an httpx response (the same decoding path as a socket), because
only that way can a test choose every cut: inside a line, inside a UTF-8 character, between
CR and LF. The real-port equivalent is the `[[split:N]] [[crlf]]` test in test_streaming.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from chatapp.openrouter import ContentDelta, Finish, ReasoningDelta, StreamError, Usage
from chatapp.openrouter.stream import aevents_from_response

IDS = {"id": "gen-1", "provider": "Anthropic", "model": "anthropic/claude-3.5-sonnet"}


def chunk(delta: dict | None = None, finish: str | None = None, **extra) -> str:
    body = {**IDS, "object": "chat.completion.chunk", **extra}
    if delta is not None or finish is not None:
        body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return "data: " + json.dumps(body, ensure_ascii=False)


USAGE = (
    chunk(choices=[])[:-1]
    + ',"usage":{"prompt_tokens":11,"completion_tokens":7,"cost":0.000123456789,'
    '"prompt_tokens_details":{"cached_tokens":2},'
    '"completion_tokens_details":{"reasoning_tokens":3}}}'
)
LINES = [
    ": OPENROUTER PROCESSING",
    chunk({"role": "assistant", "reasoning": "Düşünce 思考"}),
    chunk({"role": "assistant", "content": "Hé"}),
    ": OPENROUTER PROCESSING",
    chunk({"role": "assistant", "content": "llo 🎉 wörld\nnext line"}),
    chunk({"role": "assistant", "content": ""}, finish="stop"),
    USAGE,
    "data: [DONE]",
]
EARLY = Finish("", "gen-1", "Anthropic", "anthropic/claude-3.5-sonnet")
EXPECTED = [
    EARLY,
    ReasoningDelta("Düşünce 思考"),
    ContentDelta("Hé"),
    ContentDelta("llo 🎉 wörld\nnext line"),
    Finish("stop", "gen-1", "Anthropic", "anthropic/claude-3.5-sonnet"),
    Usage(11, 7, 3, 2, Decimal("0.000123456789")),
]


class Chunks(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self):
        for part in self.parts:
            yield part


def events_of(raw: bytes, cuts: list[int] = ()) -> list:
    bounds = [0, *sorted(set(cuts)), len(raw)]
    parts = [raw[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    async def run() -> list:
        response = httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(parts)
        )
        deadline = asyncio.get_running_loop().time() + 60
        return [event async for event in aevents_from_response(response, deadline=deadline)]

    return asyncio.run(run())


def stream(lines: list[str], newline: str = "\n") -> bytes:
    return "".join(line + newline + newline for line in lines).encode()


RAW = stream(LINES)


@settings(max_examples=300, deadline=None)
@given(
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=len(stream(LINES, "\r\n"))), max_size=40),
)
def test_it_yields_the_same_events_wherever_the_stream_is_cut(newline, cuts):
    raw = stream(LINES, newline)

    assert events_of(raw, [c for c in cuts if c <= len(raw)]) == EXPECTED


def test_it_yields_the_same_events_when_every_byte_arrives_alone():
    assert events_of(RAW, list(range(len(RAW)))) == EXPECTED


def test_it_keeps_the_cost_exact():
    usage = events_of(RAW)[-1]

    assert usage.cost == Decimal("0.000123456789")


def test_it_treats_a_finished_reply_without_done_as_complete():
    events = events_of(stream(LINES[:-2]))  # finish arrived; usage and [DONE] did not

    assert events[-1] == EXPECTED[4]


def test_it_treats_a_stream_without_finish_or_done_as_an_error():
    events = events_of(stream(LINES[:5]))

    assert events[:-1] == EXPECTED[:4]
    assert isinstance(events[-1], StreamError)
    assert events[-1].code == "connection_lost"


def test_it_treats_a_cut_final_line_as_missing():
    raw = stream(LINES[:5]) + LINES[5].encode()[:-5]  # the finish chunk never completed

    assert events_of(raw)[-1].code == "connection_lost"


def test_it_completes_on_done_even_without_a_finish_reason():
    events = events_of(stream([LINES[2], "data: [DONE]"]))

    assert events == [EARLY, ContentDelta("Hé"), Finish("unknown", *IDS.values())]


def test_it_ignores_data_that_is_not_json():
    events = events_of(stream(["data: {not json", *LINES]))

    assert events == EXPECTED


def test_it_reads_a_top_level_error_as_a_stream_error_with_a_sentence():
    error = chunk(
        {"content": ""}, finish="error", error={"code": "server_error", "message": "Boom"}
    )
    events = events_of(stream([LINES[2], error, "data: [DONE]"]))

    assert events[:2] == [EARLY, ContentDelta("Hé")]
    assert events[2].code == "provider_error"
    assert events[2].message.startswith("The model's provider stopped with an error")
    assert len(events) == 3


def test_it_maps_a_numeric_midstream_error_code_to_its_kind():
    error = chunk(error={"code": 429, "message": "slow down"})

    assert events_of(stream([LINES[2], error]))[-1].code == "rate_limited"


def test_it_reads_a_negative_or_missing_cost_as_unknown():
    usage = chunk(choices=[])[:-1] + ',"usage":{"prompt_tokens":1,"completion_tokens":1,"cost":-1}}'

    events = events_of(stream([LINES[2], LINES[5], usage, "data: [DONE]"]))

    assert events[-1] == Usage(1, 1, 0, 0, None)
