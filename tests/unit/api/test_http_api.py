"""The local HTTP front (API Gateway + site bucket stand-in): routing, static files, concurrency."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from gold_env import gold_stack

from infra.local.http_api import MAX_BODY_BYTES, HttpApiServer


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
        r for r in results if r[1] != (400 if "limit=0" in r[0] else 200)
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


def request(url: str, method: str, path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    out = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return out


def test_only_what_cloudfront_serves(server):
    """The site bucket's private `api/` prefix (meta.json names the gold bucket) is never served."""
    srv, _ = server
    for path in ("/api/meta.json", "/api/v1/versions/x/summary.json", "/api/"):
        status, _, body = get(srv.url + path)
        assert status == 403 and b"gold" not in body, path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_static_pages_answer_get_and_head_only(server, method):
    srv, _ = server
    status, headers, _ = request(srv.url, method, "/index.html")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert request(srv.url, "HEAD", "/index.html")[0] == 200
    # the API has GET routes only, as its HttpApi declares
    assert request(srv.url, method, "/v1/summary")[0] == 404


def test_api_preflight_and_conditional_requests(server):
    srv, _ = server
    status, headers, _ = request(srv.url, "OPTIONS", "/v1/summary", {"Origin": "https://example.org"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = request(srv.url, "GET", "/v1/summary")
    status, again, body = request(srv.url, "GET", "/v1/summary", {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    status, headers, _ = request(srv.url, "GET", "/app.js")
    assert request(srv.url, "GET", "/app.js", {"If-None-Match": headers["ETag"]})[0] == 304


def test_requests_are_answered_concurrently(server, monkeypatch):
    """A slow request does not hold the others back (cached answers, static files), as on API Gateway."""
    import threading
    import time

    from services.read_model import data

    srv, _ = server
    started, release = threading.Event(), threading.Event()
    original = data.filing_detail

    def slow(d, filing_id):
        if filing_id == "2025-20026590":
            started.set()
            release.wait(10)
        return original(d, filing_id)

    monkeypatch.setattr(data, "filing_detail", slow)
    assert get(f"{srv.url}/v1/members/P000197")[0] == 200  # now a cached answer
    with ThreadPoolExecutor(2) as pool:
        stuck = pool.submit(get, f"{srv.url}/v1/filings/2025-20026590")
        assert started.wait(10)
        t = time.perf_counter()
        assert get(f"{srv.url}/v1/members/P000197")[0] == 200  # answered while the first one waits
        assert get(f"{srv.url}/index.html")[0] == 200
        elapsed = time.perf_counter() - t
        release.set()
        assert stuck.result()[0] == 200
    assert not stuck.cancelled() and elapsed < 5


def test_the_edge_keeps_site_files_briefly_and_boundedly():
    from infra.local.http_api import EdgeCache

    edge = EdgeCache(ttl_s=60, size=2)
    for key in ("a", "b", "c"):
        edge.put(key, key.upper())
    assert (edge.get("a"), edge.get("b"), edge.get("c")) == (None, "B", "C")
    expired = EdgeCache(ttl_s=-1)
    expired.put("a", "A")
    assert expired.get("a") is None
