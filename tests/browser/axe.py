"""axe-core in the page under test: the accessibility rules a browser test can hold.

axe-core (tests/browser/vendor/axe-core, MPL-2.0, from the npm registry) is for tests only: it
is never served by the app. It is evaluated through the DevTools protocol, so the page's
Content-Security-Policy (no inline script) stays as strict as in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Any, *, impacts: tuple[str, ...] = BLOCKING) -> list[str]:
    """Run axe-core on the page as it is now; return one line per violation of `impacts`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        + (f" and {len(v['nodes']) - 5} more" if len(v["nodes"]) > 5 else "")
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page: Any) -> None:
    found = axe_violations(page)
    assert not found, "axe-core:\n" + "\n".join(found)
