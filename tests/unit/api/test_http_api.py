"""The local HTTP front (API Gateway + site bucket stand-in): routing, static files, concurrency."""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gold_env import gold_stack  # noqa: E402

from infra.local.http_api import MAX_BODY_BYTES, HttpApiServer  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with gold_stack(publish=True) as env, HttpApiServer(site_bucket="site") as srv:
        yield srv, env


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_api_and_site_on_one_origin(server):
    srv, _ = server
    status, headers, body = get(f"{srv.url}/v1/trades?member=P000197&limit=3")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["total"] == 9
    status, headers, body = get(f"{srv.url}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"13107" in body
    status, headers, _ = get(f"{srv.url}/app.js")
    assert status == 200 and "javascript" in headers["Content-Type"]
    status, _, body = get(f"{srv.url}/openapi.json")
    assert status == 200 and json.loads(body)["openapi"].startswith("3.")
    assert get(f"{srv.url}/nope.html")[0] == 404
    status, _, body = get(f"{srv.url}/v1/trades?limit=abc")
    assert status == 400 and json.loads(body)["parameter"] == "limit"


def test_concurrent_requests_never_fail(server, monkeypatch):
    """Many browsers at once: every answer is right (the resolver is not shared between requests)."""
    from services.api import handler

    monkeypatch.setattr(handler.cache, "size", 0)  # every request through the resolver
    srv, _ = server
    paths = ["/v1/summary", "/v1/trades?ticker=NVDA", "/v1/members/P000197", "/v1/tickers/NVDA", "/v1/health",
             "/v1/trending?window=7", "/v1/trades?limit=0", "/v1/filings?type=P", "/index.html", "/v1/members?q=greene"]
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda p: (p, get(srv.url + p)[0]), paths * 30))
    assert all(status == (400 if "limit=0" in path else 200) for path, status in results), [
        r for r in results if r[1] not in (200, 400)
    ][:5]


@pytest.mark.parametrize(("length", "status"), [(str(MAX_BODY_BYTES + 1), 413), ("many", 400), ("-5", 400)])
def test_oversized_or_malformed_bodies_are_refused_unread(server, length, status):
    srv, _ = server
    connection = http.client.HTTPConnection(srv.url.removeprefix("http://"), timeout=10)
    connection.putrequest("POST", "/v1/trades")
    connection.putheader("Content-Length", length)
    connection.endheaders()  # the announced body is never sent: the server must not wait for it
    response = connection.getresponse()
    assert response.status == status and "message" in json.loads(response.read())
    assert response.getheader("Connection") == "close"
    connection.close()
