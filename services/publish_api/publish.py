"""publish_api: precompute the API's cacheable answers of the live Gold version into the site bucket.

On `gold.published` it reads the Gold pointer and the version's tables, computes every answer
that does not depend on a query (summary, latest trades, trending, each member, each ticker)
with the same functions the API uses, and writes them under the version's own prefix,
`api/v1/versions/{gold_version}/...` (`keys.answers_prefix`). It also uploads the website's
static files to the bucket root, so the site bucket is the website on AWS.

With the answers it writes the Atom feeds (`feeds.py`: latest trades, per member, per ticker) as
static files of the site, and, when a trade-alerts topic is configured, announces the trades new in
this version on it, once per version (`alerts.py`), just before the flip.

`api/meta.json`, written last, is the flip: it names the live version and its answers prefix,
and the API reads answers only from the prefix named by the meta it loaded, beside that
version's data. A prefix is complete before any meta names it and never holds another
version's answers, so a reader never mixes versions, whether a publish is under way or died
half way. Builds may overtake one another: just before the flip the pointer is read again, and
when it moved the newer version is published instead, so the meta follows the pointer.

Garbage collection, after the flip: answer prefixes of versions older than both the new one and
the one it replaced are deleted (as are answers outside any version
prefix, the in-place layout of earlier releases). The replaced
version stays because API instances keep the old meta for up to `API_VERSION_TTL_S` seconds;
newer prefixes stay because a concurrent publish may be writing one. Whatever is left, e.g. by a
crash after the flip, goes with the next version's publish. An answer missing from its prefix
is not an error: the API then computes it from the same version's data.

Idempotent: an object whose bytes are already stored is not written again (its ETag is the MD5
of its bytes), so a retry after a crash writes only what is missing and then the meta; and a
version whose meta is already published is a no-op, so the same `gold.published` twice changes
nothing, not even the bucket's object versions.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common import aws, keys
from services.common.documents import GoldManifest, SiteMeta, read_pointer, read_site_meta
from services.publish_api import alerts, feeds
from services.read_model import data

SERVICE = "publish_api"
STATIC_DIR = Path(__file__).resolve().parents[1] / "website" / "static"
CACHE_API = "public, max-age=60"
CACHE_STATIC = "public, max-age=300"
CACHE_META = "no-cache"


@dataclass(frozen=True)
class PublishResult:
    gold_version: str
    objects: int  # answers + static files of this version
    written: int  # objects actually written (0 when it was already published)
    deleted: int
    already_published: bool
    alerts_sent: int = 0


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=_default).encode()


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


def _existing_etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def static_files(root: Path = STATIC_DIR) -> dict[str, tuple[bytes, str]]:
    """The website's files: site-bucket key -> (bytes, content type)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                kind += "; charset=utf-8"
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), kind)
    return out


def upload_static(s3: Any, site_bucket: str, root: Path = STATIC_DIR) -> int:
    """Only the website's files (e.g. `disclosures up` before any data): the site shows "no data yet"."""
    statics = static_files(root)
    files = {key: (body, kind, CACHE_STATIC) for key, (body, kind) in statics.items()}
    return _put_all(s3, site_bucket, files, _existing_etags(s3, site_bucket, ""))


def _put_all(s3: Any, bucket: str, files: dict[str, tuple[bytes, str, str]], existing: dict[str, str]) -> int:
    todo = [(k, v) for k, v in files.items() if existing.get(k) != _etag_of(v[0])]

    def put(item: tuple[str, tuple[bytes, str, str]]) -> None:
        key, (body, content_type, cache_control) = item
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=cache_control)

    with ThreadPoolExecutor(max_workers=aws.CONCURRENT_REQUESTS) as pool:
        list(pool.map(put, todo))
    return len(todo)


def publish(
    s3: Any,
    *,
    gold_bucket: str,
    site_bucket: str,
    run_id: str | None = None,
    now: datetime | None = None,
    static_root: Path = STATIC_DIR,
    sns: Any = None,
    alerts_topic_arn: str | None = None,
) -> PublishResult:
    """Precompute and publish the answers of the live Gold version (the pointer's); with
    `alerts_topic_arn` (and an `sns` client), announce its new trades there."""
    # The pointer, not the event, names the version: when builds overtook each other, the
    # older build's event publishes the newer version (a no-op when that one is already published).
    manifest = _live_manifest(s3, gold_bucket)
    version = manifest.version
    prefix = keys.answers_prefix(version)

    statics = static_files(static_root)
    digest = _static_digest(statics)
    meta = read_site_meta(s3, site_bucket)
    if meta is not None and (meta.gold_version, meta.answers_prefix, meta.static_sha256) == (version, prefix, digest):
        return PublishResult(version, meta.objects, 0, 0, True)
    live_before = meta.gold_version if meta else None

    gold = data.load_gold(s3, manifest, gold_bucket)
    site_objects: dict[str, tuple[bytes, str, str]] = {
        prefix + name: (_json_bytes(value), "application/json", CACHE_API)
        for name, value in data.precomputed_answers(gold).items()
    }
    site_objects |= {key: (body, feeds.CONTENT_TYPE, CACHE_API) for key, body in feeds.all_feeds(gold).items()}
    site_objects |= {key: (body, kind, CACHE_STATIC) for key, (body, kind) in statics.items()}
    existing = _existing_etags(s3, site_bucket, "")
    written = _put_all(s3, site_bucket, site_objects, existing)

    if _live_manifest(s3, gold_bucket).version != version:  # overtaken while writing: flip to the newer one
        return publish(
            s3, gold_bucket=gold_bucket, site_bucket=site_bucket, run_id=run_id, now=now, static_root=static_root,
            sns=sns, alerts_topic_arn=alerts_topic_arn,
        )  # fmt: skip

    sent = 0
    if alerts_topic_arn and sns is not None:
        sent = alerts.announce(
            s3, sns, topic_arn=alerts_topic_arn, gold=gold, gold_bucket=gold_bucket, site_bucket=site_bucket,
            previous_version=live_before,
        )  # fmt: skip

    # Republishing the live version (new static files) keeps the version it replaced.
    previous = meta.previous_gold_version if meta is not None and live_before == version else live_before
    published_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    _put_meta(s3, site_bucket, SiteMeta(
        gold_version=version,
        answers_prefix=prefix,
        previous_gold_version=previous,
        gold_bucket=gold_bucket,
        built_at=manifest.built_at,
        published_at=published_at,
        run_id=run_id or manifest.run_id,
        years=manifest.years,
        row_counts=manifest.row_counts,
        objects=len(site_objects),
        members=len(gold.members),
        tickers=len(gold.tickers()),
        static_sha256=digest,
    ))  # fmt: skip

    deleted = _collect(s3, site_bucket, existing, keep={v for v in (version, previous) if v})
    return PublishResult(version, len(site_objects), written + 1, deleted, False, sent)


def _live_manifest(s3: Any, gold_bucket: str) -> GoldManifest:
    pointer = read_pointer(s3, gold_bucket)
    if pointer is None:
        raise FileNotFoundError(f"no Gold pointer in s3://{gold_bucket}/{keys.GOLD_POINTER_KEY}")
    return pointer.manifest


def _put_meta(s3: Any, site_bucket: str, meta: SiteMeta) -> None:
    """The flip: from here on the API takes `meta`'s version and answers prefix as live."""
    s3.put_object(
        Bucket=site_bucket, Key=keys.SITE_META_KEY, Body=_json_bytes(meta.model_dump(mode="json")),
        ContentType="application/json", CacheControl=CACHE_META,
    )  # fmt: skip


def _collect(s3: Any, site_bucket: str, existing: dict[str, str], keep: set[str]) -> int:
    """Delete the answers of versions older than every kept one, and answers outside any version.

    Version ids start with their build time, so they sort in build order. Only keys listed
    before this publish's writes are candidates: a prefix started meanwhile is never one.
    """
    oldest_kept = min(keep)
    stale = []
    for key in existing:
        if key.startswith(keys.API_PREFIX):
            owner = keys.answers_version(key)
            if owner is None or owner < oldest_kept:
                stale.append(key)
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=site_bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1000]]})
    return len(stale)


def _static_digest(statics: dict[str, tuple[bytes, str]]) -> str:
    digest = hashlib.sha256()
    for key in sorted(statics):
        digest.update(key.encode() + b"\0" + hashlib.sha256(statics[key][0]).digest())
    return digest.hexdigest()
