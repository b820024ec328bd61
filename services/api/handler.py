"""Lambda entry point of the HTTP API (API Gateway HTTP API, payload format 2.0).

Every GET answer marked cacheable (`Cache-Control: public`) is a pure function of the live data
version, the path and the query, so a warm function keeps the serialized responses of the
current version (an LRU of at most `API_RESPONSE_CACHE` entries, 0 to turn it off, and of
`API_RESPONSE_CACHE_MB` megabytes of bodies) and answers a repeated request without routing,
validating or serializing again. A new version empties it.

Every answer then gets the same finishing: an error is `no-store` (Powertools would say
`no-cache` for a non-200 of a cacheable route); a 200 carries a strong ETag (a digest of its
body) and answers `If-None-Match` with a 304; any origin may read it (`Access-Control-Allow-Origin:
*`: the data is public and no credentials are involved).

Powertools keeps the request being resolved on a class attribute (`BaseRouter.current_event`),
shared by every resolver of the process, so one request is resolved at a time (`_resolving`), as
one Lambda execution environment runs one invocation at a time. Cached answers, the bulk of the
traffic, are served without it: the local server answers them concurrently.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.api.app import CACHE_NONE, ApiSettings, app, store
from services.common.observability import lambda_entry, tools

SERVICE = "api"
logger, tracer, metrics = tools(SERVICE)


class ResponseCache:
    """At most `size` answers and `max_bytes` of their bodies, whichever binds first: a page of
    500 trades is half a megabyte, and four thousand of them would not fit the function's memory."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._version: str | None = None

    @staticmethod
    def key(event: dict[str, Any]) -> tuple[str, str] | None:
        http = (event.get("requestContext") or {}).get("http") or {}
        if http.get("method", "GET") != "GET":
            return None
        params = event.get("queryStringParameters") or {}
        # Encoded again: the values arrive decoded, and `a=b%26c%3Dd` must not share `a=b&c=d`'s key.
        return event.get("rawPath") or http.get("path") or "", urlencode(sorted(params.items()))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, version: str, key: tuple[str, str]) -> dict[str, Any] | None:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self.bytes = 0
                self._version = version
                return None
            found = self._entries.get((version, *key))
            if found is not None:
                self._entries.move_to_end((version, *key))
            return found

    def put(self, version: str, key: tuple[str, str], response: dict[str, Any]) -> None:
        headers = response.get("headers") or {}
        if response.get("statusCode") != 200 or not str(headers.get("Cache-Control", "")).startswith("public"):
            return
        size = _body_bytes(response)
        if size > self.max_bytes:
            return
        with self._lock:
            if version != self._version:
                return
            replaced = self._entries.pop((version, *key), None)
            if replaced is not None:
                self.bytes -= _body_bytes(replaced)
            self._entries[(version, *key)] = response
            self.bytes += size
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                self.bytes -= _body_bytes(self._entries.popitem(last=False)[1])


def _body_bytes(response: dict[str, Any]) -> int:
    return len(response.get("body") or "")


SETTINGS = ApiSettings
_settings = ApiSettings.from_env()
cache = ResponseCache(_settings.api_response_cache, _settings.api_response_cache_mb << 20)
_resolving = threading.Lock()
# /v1/health is no-store (its freshness moves with the clock), yet probes and dashboards ask it
# many times a second: a warm function gives the answer it computed for the same data version
# within the last second instead of resolving again (under load, one in thirty requests waiting
# for the resolver made the whole mix's p99 hundreds of milliseconds).
HEALTH_PATH = "/v1/health"
HEALTH_REUSE_S = 1.0
_health: list[Any] = [None, 0.0, None]  # version, when, response


def _live_version() -> str | None:
    try:
        data = store.data()
    except Exception:  # no data yet: nothing is cacheable, the route answers the error
        return None
    return f"{data.version}#{id(data)}"  # a reload of the same version starts afresh too


def _finish(response: dict[str, Any]) -> dict[str, Any]:
    """Headers every answer carries (computed once per cached response)."""
    headers = dict(response.get("headers") or {})
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = "ETag"
    if response.get("statusCode") == 200:
        body = response.get("body") or ""
        digest = hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()[:32]
        headers["ETag"] = f'"{digest}"'
    else:
        headers["Cache-Control"] = CACHE_NONE
    return {**response, "headers": headers}


def _not_modified(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    etag = (response.get("headers") or {}).get("ETag")
    wanted = {(event.get("headers") or {}).get(h) for h in ("if-none-match", "If-None-Match")} - {None}
    tags = {t.strip().removeprefix("W/") for value in wanted if value for t in value.split(",")}
    if etag and (etag in tags or "*" in tags):
        keep = ("ETag", "Cache-Control", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers")
        return {"statusCode": 304, "headers": {k: v for k, v in response["headers"].items() if k in keep}, "body": ""}
    return response


def lambda_handler(event: dict, context: Any) -> dict:
    """A HEAD is answered as the GET it stands for, without the body: the same headers (ETag
    included), so a client can check for a change cheaply."""
    http = (event.get("requestContext") or {}).get("http") or {}
    if http.get("method") != "HEAD":
        return _answer(event, context)
    as_get = {**event, "requestContext": {**event["requestContext"], "http": {**http, "method": "GET"}}}
    return {**_answer(as_get, context), "body": ""}


def _answer(event: dict, context: Any) -> dict:
    """A cached answer is given before Powertools' per-invocation wrappers (context logging,
    tracing, the metrics flush): they cost about 40 us an answer, most of what a cached one
    costs, for an answer that logs, traces and counts nothing. Everything else is resolved."""
    key = ResponseCache.key(event) if cache.size and cache.max_bytes else None
    version = _live_version() if key else None
    health = key == (HEALTH_PATH, "")
    if key and version:
        hit = cache.get(version, key)
        if hit is None and health and _health[0] == version and time.monotonic() - _health[1] < HEALTH_REUSE_S:
            hit = _health[2]
        if hit is not None:
            return _not_modified(event, hit)
    response = _resolve(event, context)
    if key and version:
        cache.put(version, key, response)
        if health and response.get("statusCode") == 200:
            _health[:] = [version, time.monotonic(), response]
    return _not_modified(event, response)


@lambda_entry(logger, tracer, metrics)
def _resolve(event: dict, context: LambdaContext) -> dict:
    with _resolving:
        return _finish(app.resolve(event, context))
