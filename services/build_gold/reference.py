"""The congress-legislators reference files, loaded like any other source.

Two files: the current members (`CURRENT`) and the former ones (`HISTORY`: on AWS
congress-legislators' `legislators-historical.yaml`, locally the fixtures' House file), so a
member who left (Greene, Waltz, Phillips) still resolves. Each is fetched with a conditional
GET, stored content-addressed in bronze, remembered in the watermark table under its own sort
key; when its source is unreachable the last stored copy is used.
"""

from __future__ import annotations

import hashlib
import logging

from services.build_gold.members import load_legislators
from services.common import http, keys, storage, watermarks
from services.common.tables import ReferenceMark

NAME = "legislators-current.yaml"
HISTORY_NAME = "legislators-historical.yaml"
CURRENT, HISTORY = "CURRENT", "HISTORY"
_NAMES = {CURRENT: NAME, HISTORY: HISTORY_NAME}
log = logging.getLogger(__name__)


def _last_stored(which: str) -> ReferenceMark | None:
    try:
        return ReferenceMark.get(*ReferenceMark.KIND.key(name="legislators", which=which), consistent_read=True)
    except ReferenceMark.DoesNotExist:
        return None


def _usable(body: bytes) -> bool:
    """A reference file is stored only if it reads as a list of legislators."""
    try:
        return bool(load_legislators(body))
    except Exception:  # noqa: BLE001 - any parse failure means the file is not usable
        return False


def load(url: str, bronze_bucket: str, which: str = CURRENT) -> tuple[bytes, str]:
    """The legislators YAML (`CURRENT` or `HISTORY`) and its bronze key."""
    last = _last_stored(which)
    headers = {"If-None-Match": last.etag} if last and last.etag else {}
    try:
        response = http.get(url, headers=headers, max_bytes=32 * 1024 * 1024)
    except (http.TransientHttpError, http.Forbidden) as exc:
        if last is None:
            raise
        log.warning("legislators source unavailable (%s); using the last stored copy", exc)
        response = http.Response(304, b"")
    if response.status == 200 and not _usable(response.body):
        log.warning("legislators source sent an unreadable file; keeping the last stored copy")
        response = http.Response(502, b"")
    if response.status != 200 and last is not None:
        # Unchanged (304), gone, or broken: the last good copy stands.
        return storage.get_bytes(bronze_bucket, last.bronze_key)[0], last.bronze_key
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status} with no usable file, and no copy is stored")
    sha256 = hashlib.sha256(response.body).hexdigest()
    key = keys.reference_key(_NAMES[which], sha256)
    storage.put_if_absent(bronze_bucket, key, response.body, {"source-url": url}, "application/yaml")
    ReferenceMark(*ReferenceMark.KIND.key(name="legislators", which=which), etag=response.headers.get("etag"),
                  sha256=sha256, bronze_key=key, updated_at=watermarks.now()).save()
    return response.body, key
