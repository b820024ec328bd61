"""HTTP GET with the politeness rules of the Clerk's site.

Backs off on 429 and 5xx (urllib3's `Retry`, honouring Retry-After), treats 403 as a hard stop
(no retry storm), caps the body size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import urllib3
from pydantic import Field
from urllib3.exceptions import HTTPError
from urllib3.util import Retry

from services.common.config import FunctionSettings

USER_AGENT = "congress-disclosures/0.1 (+non-commercial research; 5 U.S.C. 13107)"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_DELAY_S = 30.0
_POOL = urllib3.PoolManager(maxsize=8)  # thread-safe; keeps connections to the Clerk open


class Forbidden(RuntimeError):
    """The source refused us (403): stop, do not retry."""


class TransientHttpError(RuntimeError):
    """Retries exhausted on 429/5xx or a network error: the message should be retried later."""


class TooLarge(ValueError):
    pass


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class _Retry(Retry):
    """urllib3's Retry with this module's schedule: `backoff_factor`, then doubling, from the
    first retry (urllib3 retries the first at once); a Retry-After (even 0) is obeyed; no wait
    longer than MAX_DELAY_S; and an injectable sleep."""

    def __init__(self, *args: Any, sleep: Callable[[float], object] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sleep = sleep

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry._sleep = self._sleep
        return retry

    def get_backoff_time(self) -> float:
        return self.backoff_factor * 2 ** max(len(self.history) - 1, 0)

    def sleep(self, response: Any = None) -> None:
        retry_after = self.get_retry_after(response) if response is not None else None
        self._sleep(min(retry_after if retry_after is not None else self.get_backoff_time(), MAX_DELAY_S))


class HttpSettings(FunctionSettings):
    """What a function that asks the source reads (discover, fetch, build_gold's reference files)."""

    http_backoff_s: float = Field(0.5, ge=0, description="First retry's back-off; doubles each time")


def get(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    max_bytes: int = 64 * 1024 * 1024,
    attempts: int = 4,
    backoff_s: float | None = None,
    timeout_s: float = 30.0,
    sleep: Callable[[float], object] = time.sleep,
) -> Response:
    """GET returning 200/304/404 responses; raise Forbidden, TooLarge or TransientHttpError."""
    if backoff_s is None:
        backoff_s = HttpSettings.from_env().http_backoff_s
    retry = _Retry(total=attempts - 1, redirect=5, status_forcelist=RETRY_STATUSES, backoff_factor=backoff_s,
                   raise_on_status=False, sleep=sleep)
    try:
        # Not preloaded, the pool's response is an HTTPResponse: it can tell whether it was read to its end.
        resp = cast(urllib3.HTTPResponse, _POOL.request(
            "GET", url, headers={"User-Agent": USER_AGENT, **(headers or {})}, retries=retry,
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s), preload_content=False))
    except HTTPError as exc:  # connection refused, timeouts, too many redirects: retries exhausted
        raise TransientHttpError(f"GET {url} failed after {attempts} attempts: {type(exc).__name__}: {exc}") from exc
    try:
        found = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status == 403:
            raise Forbidden(f"403 Forbidden from {url}")
        if resp.status in RETRY_STATUSES:
            raise TransientHttpError(f"GET {url} failed after {attempts} attempts: HTTP {resp.status}")
        if resp.status in (304, 404, 410):
            return Response(resp.status, b"", found)
        try:
            body = resp.read(max_bytes + 1 if resp.status == 200 else 4096)
        except HTTPError as exc:  # the connection broke while reading
            raise TransientHttpError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
        if resp.status == 200 and len(body) > max_bytes:
            raise TooLarge(f"{url} is larger than {max_bytes} bytes")
        return Response(resp.status, body, found)
    finally:
        if resp.isclosed():  # read to its end: the connection goes back to the pool
            resp.release_conn()
        else:  # a body left unread (too large, an error page) is not drained: drop the connection
            resp.close()
