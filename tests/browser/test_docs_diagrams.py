"""Every Mermaid diagram in docs/ parses, as GitHub needs it to (a broken one renders as an error box).

Mermaid's own parser, pinned in tests/browser/mermaid (installed by `make mermaid-deps`, which `make
test` runs), runs in headless Chromium: its bundle needs a DOM, so Node alone won't do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import launch_chromium, require_browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
MERMAID_JS = Path(__file__).parent / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
# The issue asks for five: system, data flow, one run's events, ledger states, deploy and rollback.
REQUIRED_DIAGRAMS = 5
# GitHub takes up to three spaces before a fence and any longer fence of the same character.
FENCE = re.compile(r"^ {0,3}(([`~])\2{2,})[ \t]*mermaid[ \t]*\n(?P<body>.*?)^ {0,3}\1\2*[ \t]*$", re.M | re.S)


def diagrams() -> list[Any]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for index, match in enumerate(FENCE.finditer(text), start=1):
            line = text.count("\n", 0, match.start()) + 1
            kind = match["body"].split(None, 1)[0] if match["body"].strip() else "empty"
            name = path.relative_to(DOCS).as_posix()
            found.append(pytest.param(match["body"], id=f"{name}#{index}-{kind}-line{line}"))
    return found


DIAGRAMS = diagrams()


@pytest.fixture(scope="module")
def mermaid_page() -> Iterator[Any]:
    """One browser for the module: a blank page with Mermaid's bundle loaded."""
    require_browser()
    if not MERMAID_JS.is_file():
        pytest.skip(f"no {MERMAID_JS.relative_to(DOCS.parent)} (run `make mermaid-deps`; it needs npm)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.add_script_tag(path=str(MERMAID_JS))
            yield page
        finally:
            browser.close()


def parse_error(page: Any, text: str) -> str | None:
    """Mermaid's message for a diagram that does not parse; None for one that does."""
    return page.evaluate(
        """async (text) => {
            try { await mermaid.parse(text); return null; }
            catch (error) { return String((error && error.message) || error); }
        }""",
        text,
    )


def test_docs_have_the_required_diagrams():
    assert len(DIAGRAMS) >= REQUIRED_DIAGRAMS, (
        f"{len(DIAGRAMS)} Mermaid diagrams in docs/, want {REQUIRED_DIAGRAMS}"
    )


@pytest.mark.parametrize("text", DIAGRAMS)
def test_diagram_parses(mermaid_page, text):
    error = parse_error(mermaid_page, text)
    if error is not None:
        pytest.fail(f"Mermaid cannot parse this diagram:\n{error}", pytrace=False)


# The check has teeth: diagrams GitHub would show as an error box are rejected.
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("flowchart LR\n    a --> b[unclosed\n", id="unclosed-node"),
        pytest.param("sequenceDiagram\n    A->>: no target\n", id="arrow-without-target"),
        pytest.param("stateDiagram-v2\n    [*] --> A --> B\n", id="chained-transition"),
        pytest.param("stateDiagram-v2\n    state A {\n    [*] --> B\n", id="unclosed-state"),
        pytest.param("flowchat LR\n    a --> b\n", id="unknown-diagram-type"),
    ],
)
def test_a_broken_diagram_is_rejected(mermaid_page, text):
    assert parse_error(mermaid_page, text)
