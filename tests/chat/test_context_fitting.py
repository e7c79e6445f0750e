"""The token estimate and the fitting of a history into a context window (chat/context.py)."""

from __future__ import annotations

import pytest

from chatapp.chat.context import DoesNotFit, estimate_tokens, fit_history, output_reserve


def msg(role: str, chars: int) -> dict[str, str]:
    return {"role": role, "content": "x" * chars}


def test_a_message_is_a_quarter_of_its_characters_rounded_up_plus_four():
    # 10 chars -> 3 tokens + 4 per message, + 3 for the reply
    assert estimate_tokens([msg("user", 10)]) == 3 + 4 + 3
    assert estimate_tokens([msg("user", 8), msg("assistant", 0)]) == 2 + 4 + 0 + 4 + 3


def test_the_output_reserve_is_max_tokens_else_a_quarter_of_the_window_at_most_the_models_max():
    assert output_reserve(context_length=8192, max_tokens=500, max_completion_tokens=None) == 500
    assert output_reserve(context_length=8192, max_tokens=None, max_completion_tokens=None) == 2048
    assert output_reserve(context_length=8192, max_tokens=None, max_completion_tokens=1000) == 1000


def test_a_history_that_fits_is_sent_whole():
    history = [msg("system", 40), msg("user", 40), msg("assistant", 40), msg("user", 40)]
    fitted = fit_history(history, context_length=1000, reserve=100, model_name="M")
    assert fitted.messages == history
    assert fitted.omitted == 0


def test_it_keeps_the_system_prompt_and_the_newest_turns_and_counts_what_it_left_out():
    system = {"role": "system", "content": "be brief"}
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i:02d}" + "x" * 398}
        for i in range(9)
    ]  # 104 tokens each
    fitted = fit_history([system, *turns], context_length=500, reserve=100, model_name="M")
    # 400 - 3 (reply) - 6 (system) leaves room for three turns; the oldest kept is a question
    assert fitted.messages[0] == system
    assert [m["content"][:2] for m in fitted.messages[1:]] == ["06", "07", "08"]
    assert fitted.omitted == 6
    assert fitted.tokens <= 400


def test_it_never_starts_the_kept_turns_with_an_answer():
    turns = [
        msg("user", 400),
        msg("assistant", 400),
        msg("user", 400),
        msg("assistant", 400),
        msg("user", 40),
    ]
    fitted = fit_history(turns, context_length=150, reserve=0, model_name="M")
    assert fitted.messages[0]["role"] == "user"
    assert fitted.omitted == 4
    assert fitted.messages == [turns[-1]]


def test_middle_out_leaves_everything_in_for_openrouter_to_squeeze():
    history = [msg("user", 4000), msg("assistant", 4000), msg("user", 40)]
    fitted = fit_history(history, context_length=500, reserve=100, model_name="M", middle_out=True)
    assert fitted.messages == history
    assert fitted.omitted == 0


@pytest.mark.parametrize("middle_out", [False, True])
def test_it_refuses_when_the_system_prompt_and_the_newest_message_alone_do_not_fit(middle_out):
    history = [msg("system", 800), msg("user", 800)]
    with pytest.raises(DoesNotFit) as refused:
        fit_history(
            history, context_length=500, reserve=100, model_name="Tiny 7B", middle_out=middle_out
        )
    assert "too long for Tiny 7B" in refused.value.message
    assert "500" in refused.value.message


def test_without_a_known_context_length_nothing_is_left_out():
    history = [msg("user", 100_000)]
    assert fit_history(history, context_length=None, reserve=0, model_name="M").omitted == 0
