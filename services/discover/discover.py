"""Discover: read a year's index and dispatch one fetch per new or changed filing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from events.models import (
    DocumentExtractRequested,
    Envelope,
    FilingDiscovered,
    RunDiscovered,
    RunRequested,
    RunRequestedEvent,
)
from services.common import http, keys, states, storage, watermarks
from services.common.config import settings
from services.common.source import index_url, pdf_url
from services.common.versions import PARSER_VERSION
from services.discover.index import IndexError_, IndexRow, parse_index_zip

SERVICE = "discover"
Publish = Callable[[list[Envelope]], object]


def default_years(today: datetime | None = None) -> list[int]:
    """The nightly run covers the current and the previous year (late filings land in both)."""
    year = (today or datetime.now(UTC)).year
    return [year - 1, year]


@dataclass
class YearResult:
    discovered: RunDiscovered
    filings: list[FilingDiscovered]
    reextract: list[DocumentExtractRequested] = field(default_factory=list)
    index: tuple[str | None, str, str] | None = None  # (etag, sha256, bronze key) to record once announced


def _selected(row: IndexRow, request: RunRequested, existing: dict, run_id: str) -> bool:
    if request.doc_ids:
        return row.doc_id in request.doc_ids
    if request.force:
        return True
    mark = existing.get(row.doc_id)
    if mark is None or mark.fingerprint != row.fingerprint or mark.run_id == run_id:
        return True
    # A filing whose document failed (missing, not a PDF, truncated ...) is asked for again on
    # its back-off schedule: the Clerk sometimes fixes the file.
    return watermarks.retry_due(mark)


def reextract_candidates(request: RunRequested, year: int, skip: set[str]) -> list[DocumentExtractRequested]:
    """Stored documents to extract again: the ones asked for (reprocess), or those an older
    parser version read (so bumping PARSER_VERSION re-extracts exactly those)."""
    out = []
    for doc_id, mark in sorted(watermarks.filing_watermarks(year).items()):
        if doc_id in skip or not mark.bronze_key or mark.status not in states.HAS_BYTES:
            continue
        if request.trigger == "reprocess":
            if request.doc_ids and doc_id not in request.doc_ids:
                continue
            reason = "reprocess"
        elif mark.status in states.READ and mark.parser_version != PARSER_VERSION:
            reason = "parser_version"
        else:
            continue
        parsed = keys.parse_pdf_key(mark.bronze_key)
        if parsed is not None:
            out.append(DocumentExtractRequested(doc_id=doc_id, year=year, filing_type=parsed.filing_type,
                                                key=mark.bronze_key, reason=reason))
    return out


def _with_reextract(result: YearResult, request: RunRequested, year: int, run_id: str,
                    publish: Publish, trace: str | None) -> YearResult:
    result.reextract = reextract_candidates(request, year, {f.doc_id for f in result.filings})
    publish([Envelope.build(r, run_id=run_id, source=SERVICE, trace=trace) for r in result.reextract])
    result.discovered.reextract = len(result.reextract)
    result.discovered.dispatched += len(result.reextract)
    return result


def discover_year(request: RunRequested, year: int, run_id: str, publish: Publish, trace: str | None = None) -> YearResult:
    if request.trigger == "reprocess":
        # Reprocessing works from what is stored; the source is not asked again.
        return _with_reextract(YearResult(RunDiscovered(year=year, index_status="unchanged"), []),
                               request, year, run_id, publish, trace)
    result = _discover_index(request, year, run_id, publish, trace)
    return _with_reextract(result, request, year, run_id, publish, trace)


def _discover_index(request: RunRequested, year: int, run_id: str, publish: Publish, trace: str | None) -> YearResult:
    cfg = settings()
    conditional = not (request.force or request.doc_ids)
    state = watermarks.index_state(year)
    existing = watermarks.filing_watermarks(year)
    # A retry that is due needs the index's rows even when the index did not change.
    retry_due = any(watermarks.retry_due(mark) for mark in existing.values())
    headers = {"If-None-Match": state.etag} if conditional and not retry_due and state and state.etag else {}
    url = index_url(request.source_url, year)
    response = http.get(url, headers=headers)
    if response.status == 304:
        return YearResult(RunDiscovered(year=year, index_status="unchanged"), [])
    if response.status in (404, 410):
        return YearResult(RunDiscovered(year=year, index_status="missing", error=f"{url} answered {response.status}"), [])
    if response.status != 200:
        return YearResult(RunDiscovered(year=year, index_status="failed", error=f"{url} answered {response.status}"), [])

    sha256 = hashlib.sha256(response.body).hexdigest()
    index_key = keys.index_key(year, sha256)
    storage.put_if_absent(
        cfg.bronze_bucket, index_key, response.body,
        {"run-id": run_id, "source-url": url, "etag": response.headers.get("etag", "")}, "application/zip",
    )
    try:
        parsed = parse_index_zip(response.body, year)
    except IndexError_ as exc:
        return YearResult(RunDiscovered(year=year, index_status="failed", error=f"{exc.reason}: {exc}"), [])

    records = [r.as_record() for r in parsed.rows]
    storage.put_json(cfg.silver_bucket, keys.filings_key(year), {
        "year": year, "index_key": index_key, "run_id": run_id, "filings": records,
    }, metadata={keys.FILINGS_DIGEST_METADATA: storage.json_digest(records)})
    selected = [row for row in parsed.rows if _selected(row, request, existing, run_id)]
    claimed = watermarks.claim_filings([
        watermarks.Claim(row.year, row.doc_id, row.fingerprint, run_id, force=not conditional,
                         attempt=watermarks.next_attempt(existing.get(row.doc_id), row.fingerprint, run_id))
        for row in selected
    ])
    filings = [
        FilingDiscovered(
            doc_id=row.doc_id, year=row.year, filing_type=row.filing_type,
            filing_date=row.filing_date.isoformat() if row.filing_date else None,
            filer_name=row.filer_name, state_district=row.state_district or None,
            source_url=pdf_url(request.source_url, row.year, row.filing_type, row.doc_id),
        )
        for row, won in zip(selected, claimed, strict=True)
        if won
    ]
    publish([Envelope.build(f, run_id=run_id, source=SERVICE, trace=trace) for f in filings])
    discovered = RunDiscovered(
        year=year, index_status="changed", index_rows=parsed.raw_rows, distinct_filings=len(parsed.rows),
        dispatched=len(filings), unchanged=len(parsed.rows) - len(filings),
    )
    return YearResult(discovered, filings, index=(response.headers.get("etag"), sha256, index_key))


def run(envelope: RunRequestedEvent, publish: Publish) -> list[YearResult]:
    """Handle one run.requested: each year in turn, announcing each year's result."""
    request = envelope.detail
    results = []
    for year in request.years:
        result = discover_year(request, year, envelope.run_id, publish, envelope.trace)
        publish([Envelope.build(result.discovered, run_id=envelope.run_id, source=SERVICE, trace=envelope.trace)])
        if result.index:
            # Only now may a redelivery see 304: every filing and the year's count are announced.
            watermarks.record_index(year, *result.index)
        results.append(result)
    return results
