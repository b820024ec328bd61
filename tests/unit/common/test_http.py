"""HTTP politeness: back off on 429/5xx, stop on 403, cap the size, pass 304/404 through."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.common import http


class _Script(BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers, body) of the script for its path."""

    scripts: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
    seen: list[dict[str, str]] = []

    def do_GET(self):  # noqa: N802 - stdlib name
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        steps = self.scripts[self.path]
        status, headers, body = steps.pop(0) if len(steps) > 1 else steps[0]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Script.scripts, _Script.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Script
    httpd.shutdown()


def test_backs_off_on_429_and_5xx_then_succeeds(server):
    url, script = server
    script.scripts["/a.pdf"] = [(429, {"Retry-After": "0"}, b""), (503, {}, b""), (200, {"ETag": '"x"'}, b"%PDF-1")]
    sleeps = []
    response = http.get(url + "/a.pdf", backoff_s=0.01, sleep=sleeps.append)
    assert (response.status, response.body, response.headers["etag"]) == (200, b"%PDF-1", '"x"')
    assert len(sleeps) == 2 and sleeps[0] == 0.0
    assert script.seen[0]["user-agent"].startswith("congress-disclosures")


def test_gives_up_after_its_attempts_on_a_failing_server(server):
    url, script = server
    script.scripts["/b"] = [(500, {}, b"")]
    with pytest.raises(http.TransientHttpError, match="after 3 attempts: HTTP 500"):
        http.get(url + "/b", attempts=3, backoff_s=0, sleep=lambda s: None)
    assert len(script.seen) == 3


def test_403_is_a_hard_stop_without_retries(server):
    url, script = server
    script.scripts["/c"] = [(403, {}, b"")]
    with pytest.raises(http.Forbidden):
        http.get(url + "/c", backoff_s=0, sleep=lambda s: None)
    assert len(script.seen) == 1


def test_404_and_304_are_answers_not_errors(server):
    url, script = server
    script.scripts["/d"] = [(404, {}, b"<html>Not Found</html>")]
    script.scripts["/e"] = [(304, {"ETag": '"v1"'}, b"")]
    assert http.get(url + "/d").status == 404
    response = http.get(url + "/e", headers={"If-None-Match": '"v1"'})
    assert response.status == 304
    assert script.seen[-1]["if-none-match"] == '"v1"'


def test_a_body_over_the_cap_is_refused(server):
    url, script = server
    script.scripts["/big"] = [(200, {}, b"x" * 2048)]
    with pytest.raises(http.TooLarge):
        http.get(url + "/big", max_bytes=1024)


def test_an_unreachable_host_is_transient():
    with pytest.raises(http.TransientHttpError):
        http.get("http://127.0.0.1:9/", attempts=2, backoff_s=0, sleep=lambda s: None, timeout_s=1)


def test_the_back_off_doubles_from_the_first_retry_and_is_capped(server):
    url, script = server
    script.scripts["/f"] = [(503, {}, b""), (502, {}, b""), (429, {"Retry-After": "3600"}, b""), (200, {}, b"ok")]
    sleeps = []
    assert http.get(url + "/f", backoff_s=0.25, sleep=sleeps.append).body == b"ok"
    assert sleeps == [0.25, 0.5, http.MAX_DELAY_S]  # Retry-After obeyed, but never longer than the cap
