"""Browser tests: headless Chromium (Debian's package) against the local stack on the shared mirror.

One stack per module: the runtime runs the pipeline on the Clerk mirror; the site and the API are
served by `HttpApiServer` from the site bucket, as `disclosures up` serves them. When the pipeline
publishes the API itself (build_gold and publish_api wired into the template), the tests wait for
it; otherwise they build Gold and publish from the run's silver records themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import launch_chromium, require_browser


class Site:
    """The local stack, the HTTP server in front of it, and what the tests need to know about both."""

    def __init__(self, runtime: Any, server: Any) -> None:
        self.runtime = runtime
        self.server = server
        self.url = server.url
        self.run_id: str | None = None
        self.published = False

    @property
    def env(self) -> dict[str, str]:
        return self.runtime.provisioned.environment

    def api(self, path: str, **query: Any) -> Any:
        import json
        import urllib.parse
        import urllib.request

        qs = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        with urllib.request.urlopen(f"{self.url}{path}{'?' + qs if qs else ''}", timeout=30) as response:
            return json.loads(response.read())

    def publish(self, timeout_s: float = 240.0) -> None:
        """Run the pipeline on the mirror once; its run ends when the API is published."""
        if self.published:
            return
        self._publish(timeout_s)
        self.published = True

    def _publish(self, timeout_s: float) -> None:
        from services.api.app import store

        self.run_id = self.runtime.request_run([2025])
        run = self.runtime.wait_for_run(self.run_id, timeout_s=timeout_s)
        assert run["status"] == "succeeded", run
        # The run succeeds on api.published: its own Gold is built and published by the pipeline.
        assert run["gold_version"], run
        store.reset()


@pytest.fixture(scope="module")
def site(emulator, mirror_dir) -> Iterator[Site]:
    """The local stack on the mirror (nothing run yet) with the site and API on localhost."""
    require_browser()
    from infra.local.http_api import HttpApiServer
    from infra.local.runtime import LocalRuntime, RuntimeOptions
    from services.api.app import store
    from services.publish_api.publish import publish  # noqa: F401 - fail early when absent

    emulator.reset()
    runtime = LocalRuntime(RuntimeOptions(source=str(mirror_dir), endpoint=emulator.endpoint))
    runtime.start(pollers=True)
    os.environ["DEAD_LETTER_QUEUES"] = ",".join(runtime.provisioned.dead_letter_queues.values())
    os.environ["API_VERSION_TTL_S"] = "0"
    store.reset()
    # The website's files are in the site bucket before any data: publish_api uploads them with
    # the answers; here they go up alone so the "no data yet" state can be seen.
    _upload_static(runtime)
    server = HttpApiServer(site_bucket=runtime.provisioned.environment["SITE_BUCKET"]).start()
    try:
        yield Site(runtime, server)
    finally:
        server.stop()
        runtime.stop()
        store.reset()


def _upload_static(runtime: Any) -> None:
    from services.publish_api.publish import upload_static

    assert upload_static(runtime.client("s3"), runtime.provisioned.environment["SITE_BUCKET"]) >= 3


@pytest.fixture
def live_site(site) -> Site:
    """The site after a pipeline run on the mirror, with its data published."""
    site.publish()
    return site


@pytest.fixture(scope="module")
def browser(site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, site, tmp_path) -> Iterator[Any]:
    """A fresh page; fails the test on a page error or a request leaving localhost."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "request",
        lambda request: problems.append(f"external request: {request.url}")
        if not request.url.startswith((site.url, "data:", "blob:"))
        else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems
