from __future__ import annotations

from chatapp.openrouter import ContentDelta, Finish, Usage, astream_chat


async def test_it_streams_a_reply(fake_openrouter):
    events = [
        e
        async for e in astream_chat(
            api_key="sk-or-v1-test",
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            user_id="u1",
        )
    ]
    assert any(isinstance(e, ContentDelta) for e in events)
    assert isinstance(events[-1], Usage)
    assert any(isinstance(e, Finish) for e in events)
    print(events[-3:])
    print(fake_openrouter.requests()[-1]["headers"])
