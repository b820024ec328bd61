"""HTTP GET with the politeness rules of the Clerk's site.

Backs off on 429 and 5xx, treats 403 as a hard stop (no retry storm), caps the body size.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

USER_AGENT = "congress-disclosures/0.1 (+non-commercial research; 5 U.S.C. 13107)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


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


def get(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    max_bytes: int = 64 * 1024 * 1024,
    attempts: int = 4,
    backoff_s: float | None = None,
    timeout_s: float = 30.0,
    sleep=time.sleep,
) -> Response:
    """GET returning 200/304/404 responses; raise Forbidden, TooLarge or TransientHttpError."""
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if backoff_s is None:
        backoff_s = float(os.environ.get("HTTP_BACKOFF_S", "0.5"))
    last_error = ""
    for attempt in range(attempts):
        request = urllib.request.Request(url, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310 - http(s) only
                body = resp.read(max_bytes + 1)
                if len(body) > max_bytes:
                    raise TooLarge(f"{url} is larger than {max_bytes} bytes")
                return Response(resp.status, body, {k.lower(): v for k, v in resp.headers.items()})
        except urllib.error.HTTPError as exc:
            if exc.code == 403:
                raise Forbidden(f"403 Forbidden from {url}") from exc
            if exc.code in (304, 404, 410):
                return Response(exc.code, b"", {k.lower(): v for k, v in exc.headers.items()})
            if exc.code not in RETRY_STATUSES:
                return Response(exc.code, exc.read(4096), {k.lower(): v for k, v in exc.headers.items()})
            last_error = f"HTTP {exc.code}"
            retry_after = exc.headers.get("Retry-After", "")
            delay = float(retry_after) if retry_after.isdigit() else backoff_s * 2**attempt
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            delay = backoff_s * 2**attempt
        if attempt < attempts - 1:
            sleep(min(delay, 30.0))
    raise TransientHttpError(f"GET {url} failed after {attempts} attempts: {last_error}")
