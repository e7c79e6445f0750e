"""Math (KaTeX) and Mermaid diagrams in replies, under the page's CSP, after the sanitizer."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.test_chat_page import send


def echo(page: Any, text: str) -> Any:
    """Have the stand-in answer with `text` itself; return the finished reply's body."""
    send(page, text + "\n[[echo]]")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    return page.locator("article.msg.assistant .md").last


def test_inline_and_display_math_are_typeset(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    reply = echo(
        signed_in_page,
        "Euler: $e^{i\\pi} + 1 = 0$, a_b_c stays text.\n\n$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n"
        "And \\(\\sqrt{2}\\) too.",
    )
    expect(reply.locator(".math-inline .katex")).to_have_count(2)
    expect(reply.locator(".math-display .katex-display")).to_have_count(1)
    expect(reply.locator(".math-display annotation")).to_have_text(
        "\\int_0^1 x^2\\,dx = \\frac{1}{3}"
    )
    expect(reply).to_contain_text("a_b_c stays text")
    screenshot(signed_in_page, "math")
    assert page_errors == []


def test_dollar_amounts_stay_money(signed_in_page: Any, page_errors: list[str]):
    reply = echo(signed_in_page, "It costs $5 and $10, or $ 3 $ in all.")
    expect(reply).to_have_text("It costs $5 and $10, or $ 3 $ in all.")
    assert reply.locator(".math").count() == 0
    assert page_errors == []


def test_math_cannot_run_script_or_load_links(signed_in_page: Any, page_errors: list[str]):
    dialogs: list[str] = []
    signed_in_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    reply = echo(
        signed_in_page,
        "$\\href{javascript:alert(1)}{x}$ and $\\htmlId{a}{y}$ and $\\url{javascript:alert(2)}$",
    )
    expect(reply.locator(".math-inline.math-done")).to_have_count(3)
    assert reply.locator("a").count() == 0
    assert dialogs == []


def test_a_mermaid_block_becomes_a_diagram_in_a_sandboxed_frame(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    reply = echo(page, "```mermaid\ngraph TD\n  A[Question] --> B{Model}\n  B --> C[Reply]\n```")
    figure = reply.locator("figure.diagram")
    expect(figure).to_have_class("diagram drawn", timeout=15_000)
    frame = figure.locator("iframe")
    assert frame.get_attribute("sandbox") == "allow-scripts"
    expect(page.frame_locator("figure.diagram iframe").locator("svg")).to_be_visible()
    expect(page.frame_locator("figure.diagram iframe").locator("svg")).to_contain_text("Question")
    assert frame.evaluate("el => el.getBoundingClientRect().height") > 60
    expect(figure.locator("details summary")).to_have_text("Diagram source")
    screenshot(page, "diagram")
    assert page_errors == []


def test_a_diagram_cannot_reach_the_page(signed_in_page: Any, page_errors: list[str]):
    page = signed_in_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    reply = echo(
        page,
        '```mermaid\ngraph TD\n  A["<img src=x onerror=alert(1)>"] --> B\n'
        '  click A href "javascript:alert(2)"\n```',
    )
    expect(reply.locator("figure.diagram")).to_have_class("diagram drawn", timeout=15_000)
    frame = page.frame_locator("figure.diagram iframe")
    assert frame.locator("#out img, #out script, #out a[href^='javascript']").count() == 0
    # No same-origin: the frame's own script cannot read the chat page.
    reached = page.locator("figure.diagram iframe").evaluate(
        "el => { try { return !!el.contentWindow.document; } catch (e) { return false; } }"
    )
    assert reached is False
    assert dialogs == []


def test_a_broken_diagram_says_so_and_shows_its_source(signed_in_page: Any):
    reply = echo(signed_in_page, "```mermaid\ngraph TD\n  A -->\n```")
    figure = reply.locator("figure.diagram")
    expect(figure).to_have_class("diagram failed", timeout=15_000)
    expect(figure.locator(".diagram-error")).to_contain_text("could not be drawn")
    expect(figure.locator("details")).to_have_attribute("open", "")
    expect(figure.locator("code")).to_contain_text("A -->")
