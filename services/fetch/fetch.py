"""Fetch: download one filing's PDF from the Clerk and store it, immutable, in bronze."""

from __future__ import annotations

import hashlib
import time

from events.models import DocumentFailed, DocumentStored, DocumentUnchanged, FilingDiscovered
from services.common import http, keys, storage, watermarks
from services.common.config import settings
from services.common.documents import PdfMetadata
from services.common.states import DocumentState

SERVICE = "fetch"
MAX_PDF_BYTES = 64 * 1024 * 1024
BREAKER_SECONDS = 900


class SourceBlocked(RuntimeError):
    """The Clerk answered 403 (now or recently): leave the message for a later retry or replay."""


def _failed(filing: FilingDiscovered, reason: str, message: str) -> DocumentFailed:
    watermarks.move(filing.year, filing.doc_id, DocumentState.FETCH_FAILED, reason=reason)
    return DocumentFailed(doc_id=filing.doc_id, year=filing.year, stage="fetch", reason=reason, message=message)


def _not_pdf_reason(body: bytes) -> tuple[str, str] | None:
    if not body:
        return "empty", "the source returned zero bytes"
    if body.startswith(b"%PDF-"):
        return None
    head = body[:512].lstrip().lower()
    kind = "an HTML page" if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head else "not a PDF"
    return "not_pdf", f"the source returned {kind} ({len(body)} bytes, starts {body[:16]!r}) instead of a PDF"


def _metadata(filing: FilingDiscovered, run_id: str, trace: str | None) -> dict[str, str]:
    return PdfMetadata(run_id=run_id, doc_id=filing.doc_id, filing_type=filing.filing_type,
                       filing_date=filing.filing_date, filer_name=filing.filer_name, source_url=filing.source_url,
                       trace=trace).to_s3()


def fetch_filing(
    filing: FilingDiscovered, run_id: str, trace: str | None = None
) -> DocumentStored | DocumentUnchanged | DocumentFailed:
    if watermarks.breaker_open():
        raise SourceBlocked("the Clerk refused us with 403 recently; fetching is paused")
    started = time.monotonic()
    try:
        response = http.get(filing.source_url, max_bytes=MAX_PDF_BYTES)
    except http.Forbidden as exc:
        watermarks.trip_breaker(BREAKER_SECONDS, str(exc))
        raise SourceBlocked(str(exc)) from exc
    except http.TooLarge as exc:
        return _failed(filing, "too_large", str(exc))
    if response.status in (404, 410):
        return _failed(filing, "source_missing", f"{filing.source_url} answered {response.status}")
    if response.status != 200:
        return _failed(filing, f"http_{response.status}", f"{filing.source_url} answered {response.status}")
    problem = _not_pdf_reason(response.body)
    if problem:
        return _failed(filing, *problem)

    bucket = settings().bronze_bucket
    sha256 = hashlib.sha256(response.body).hexdigest()
    key = keys.pdf_key(filing.year, filing.filing_type, filing.doc_id, sha256)
    # The state before the object: extract, started by the object's S3 event, must find the
    # filing stored, not see its own outcome overwritten. Only new bytes move it back to stored:
    # a redelivery, or the same file again, must not undo extracted.
    watermarks.move(filing.year, filing.doc_id, DocumentState.STORED, only_new_bytes=True, sha256=sha256,
                    bronze_key=key)
    stored = storage.put_if_absent(bucket, key, response.body, _metadata(filing, run_id, trace), "application/pdf")
    if not stored and (storage.head(bucket, key) or {}).get("Metadata", {}).get("run-id") != run_id:
        # Same bytes already stored by an earlier run: nothing new to extract.
        return DocumentUnchanged(doc_id=filing.doc_id, year=filing.year, key=key, reason="same content already stored")
    return DocumentStored(
        doc_id=filing.doc_id, year=filing.year, filing_type=filing.filing_type, bucket=bucket, key=key,
        sha256=sha256, size=len(response.body), fetch_ms=int((time.monotonic() - started) * 1000),
    )
