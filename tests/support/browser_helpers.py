"""Helpers of the browser tests: which Chromium and how to launch it; load a route and wait until
the page has rendered."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def require_browser() -> None:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium binary at {CHROMIUM} (Debian package `chromium`, installed by `make browser-deps`, which `make test` runs)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed")


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, never a browser build of Playwright's own."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)


def open_page(page: Any, site: Any, route: str) -> None:
    """Load a route (a full load the first time, then a hash change as a click would make)."""
    import json

    if page.url.startswith(site.url):
        page.evaluate("document.getElementById('app').dataset.ready = 'false'")
        page.evaluate(f"location.hash = {json.dumps('#/' + route)}")
    else:
        page.goto(f"{site.url}/#/{route}")
    page.wait_for_selector("main[data-ready=true]", timeout=15000)


def wait_ready(page: Any) -> None:
    page.wait_for_selector("main[data-ready=true]", timeout=15000)
