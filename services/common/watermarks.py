"""Watermarks: what has been seen and done. Every write that decides work is conditional."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from services.common.conditional import update_if
from services.common.tables import BREAKER, FILING, INDEX, WatermarkItem


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _get(pk: str, sk: str) -> WatermarkItem | None:
    try:
        return WatermarkItem.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def filing_watermarks(year: int) -> dict[str, WatermarkItem]:
    pk, prefix = FILING.key(year=year, doc_id="")
    items = WatermarkItem.query(pk, WatermarkItem.sk.startswith(prefix), consistent_read=True)
    return {item.sk.removeprefix(prefix): item for item in items}


def claim_filing(year: int, doc_id: str, fingerprint: str, run_id: str, *, force: bool = False) -> bool:
    """Claim a new or changed filing for this run. False when another run already claimed this
    exact version; a redelivery to the same run claims again, so nothing is lost on a crash."""
    item = WatermarkItem(*FILING.key(year=year, doc_id=doc_id))
    condition = None
    if not force:
        condition = (
            WatermarkItem.fingerprint.does_not_exist()
            | (WatermarkItem.fingerprint != fingerprint)
            | (WatermarkItem.run_id == run_id)
            | (WatermarkItem.status == "failed")
        )
    return update_if((item, [
        WatermarkItem.fingerprint.set(fingerprint),
        WatermarkItem.run_id.set(run_id),
        WatermarkItem.updated_at.set(now()),
    ], condition))


def set_filing_status(year: int, doc_id: str, status: str, **fields: str | None) -> None:
    item = WatermarkItem(*FILING.key(year=year, doc_id=doc_id))
    actions = [WatermarkItem.status.set(status), WatermarkItem.updated_at.set(now())]
    for name, value in fields.items():
        attr = getattr(WatermarkItem, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    item.update(actions=actions)


def filing(year: int, doc_id: str) -> WatermarkItem | None:
    return _get(*FILING.key(year=year, doc_id=doc_id))


def index_state(year: int) -> WatermarkItem | None:
    return _get(*INDEX.key(year=year))


def record_index(year: int, etag: str | None, sha256: str, key: str) -> None:
    WatermarkItem(*INDEX.key(year=year), etag=etag, sha256=sha256, bronze_key=key, updated_at=now()).save()


_BREAKER = BREAKER.key()


def breaker_open(now: float | None = None) -> bool:
    item = _get(*_BREAKER)
    return bool(item and item.blocked_until and item.blocked_until > (now or time.time()))


def trip_breaker(seconds: int, reason: str) -> None:
    """After a 403 every fetcher stops asking the source until the breaker closes again."""
    WatermarkItem(*_BREAKER, blocked_until=time.time() + seconds, reason=reason, updated_at=now()).save()
