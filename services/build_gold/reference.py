"""The congress-legislators reference, loaded like any other source.

Fetched with a conditional GET, stored content-addressed in bronze, remembered in the
watermark table; when the source is unreachable the last stored copy is used.
"""

from __future__ import annotations

import hashlib
import logging

from services.common import http, keys, storage, watermarks
from services.common.tables import WatermarkItem

NAME = "legislators-current.yaml"
_PK, _SK = "REFERENCE#legislators", "CURRENT"
log = logging.getLogger(__name__)


def _last_stored() -> WatermarkItem | None:
    try:
        return WatermarkItem.get(_PK, _SK, consistent_read=True)
    except WatermarkItem.DoesNotExist:
        return None


def load(url: str, bronze_bucket: str) -> tuple[bytes, str]:
    """The legislators YAML and its bronze key."""
    last = _last_stored()
    headers = {"If-None-Match": last.etag} if last and last.etag else {}
    try:
        response = http.get(url, headers=headers, max_bytes=32 * 1024 * 1024)
    except (http.TransientHttpError, http.Forbidden) as exc:
        if last is None:
            raise
        log.warning("legislators source unavailable (%s); using the last stored copy", exc)
        response = http.Response(304, b"")
    if response.status == 304 and last is not None:
        return storage.get_bytes(bronze_bucket, last.bronze_key)[0], last.bronze_key
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status} and no copy is stored")
    sha256 = hashlib.sha256(response.body).hexdigest()
    key = keys.reference_key(NAME, sha256)
    storage.put_if_absent(bronze_bucket, key, response.body, {"source-url": url}, "application/yaml")
    WatermarkItem(_PK, _SK, etag=response.headers.get("etag"), sha256=sha256, bronze_key=key,
                  updated_at=watermarks.now()).save()
    return response.body, key
