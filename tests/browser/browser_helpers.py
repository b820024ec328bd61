"""Helpers of the browser tests: load a route and wait until the page has rendered."""

from __future__ import annotations

from typing import Any


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
