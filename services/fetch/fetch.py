"""Fetch: download one filing's PDF from the Clerk and store it, immutable, in bronze."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import NamedTuple

from events.models import DocumentFailed, DocumentStored, DocumentUnchanged, FilingDiscovered
from services.common import http, keys, states, storage, watermarks
from services.common.config import settings
from services.common.documents import PdfMetadata
from services.common.states import DocumentState
from services.common.tables import FilingMark

SERVICE = "fetch"
log = logging.getLogger(__name__)
MAX_PDF_BYTES = 64 * 1024 * 1024
BREAKER_SECONDS = 900
_FAIL_TRIES = 3  # a failure's move, on the state it read: a concurrent move makes it read again


class SourceBlocked(RuntimeError):
    """The Clerk answered 403 (now or recently): leave the message for a later retry or replay."""


Outcome = DocumentStored | DocumentUnchanged | DocumentFailed


class Fetched(NamedTuple):
    outcome: Outcome
    again: bool = False  # the outcome this run's fetch recorded before, announced again


def _failed(filing: FilingDiscovered, run_id: str, reason: str, message: str,
            mark: FilingMark | None) -> DocumentFailed:
    # The state of the bytes the filing holds (stored, or how they read) is kept through the
    # failure (a failure after a failure keeps the one kept before): should the source serve
    # those bytes again, it is the filing's state again. The move is on the state it was
    # computed from: an extraction that ended meanwhile is read again, not kept as `stored`.
    for _ in range(_FAIL_TRIES):
        status = states.read_mark(mark.status) if mark is not None else None
        read_status = read_reason = None
        if mark is not None and status == DocumentState.FETCH_FAILED:
            read_status, read_reason = mark.read_status, mark.read_reason
        elif mark is not None and status in states.HAS_BYTES:
            read_status, read_reason = status, (mark.reason if status in states.READ else None)
        if watermarks.move(filing.year, filing.doc_id, DocumentState.FETCH_FAILED, reason=reason, fetch_run=run_id,
                           fetch_message=message, read_status=read_status, read_reason=read_reason, only_from=status):
            break
        mark = watermarks.filing(filing.year, filing.doc_id)
    else:
        raise RuntimeError(f"filing {filing.year}/{filing.doc_id} kept changing while its fetch failure was recorded")
    return DocumentFailed(doc_id=filing.doc_id, year=filing.year, stage="fetch", reason=reason, message=message)


def _outcome_of_stored(filing: FilingDiscovered, run_id: str, bucket: str, key: str, sha256: str,
                       started: float | None) -> DocumentStored | DocumentUnchanged | None:
    """What the stored object `key` is to this run: stored by it, or the same bytes stored by an
    earlier run (None: the object is not there). `started`: when this copy's download began
    (None: announced again, nothing downloaded)."""
    head = storage.head(bucket, key)
    if head is None:
        return None
    if head.get("Metadata", {}).get("run-id") != run_id:
        return DocumentUnchanged(doc_id=filing.doc_id, year=filing.year, key=key, reason="same content already stored")
    return DocumentStored(
        doc_id=filing.doc_id, year=filing.year, filing_type=filing.filing_type, bucket=bucket, key=key,
        sha256=sha256, size=int(head["ContentLength"]),
        fetch_ms=int((time.monotonic() - started) * 1000) if started is not None else 0,
    )


def _recorded(filing: FilingDiscovered, run_id: str, mark: FilingMark | None) -> Outcome | None:
    """The outcome this run's fetch of the filing already recorded (a duplicate, or a retry after
    a crash), None when there is none or its object never got stored."""
    if mark is None or mark.fetch_run != run_id:
        return None
    if mark.status == DocumentState.FETCH_FAILED:
        return DocumentFailed(doc_id=filing.doc_id, year=filing.year, stage="fetch", reason=mark.reason or "",
                              message=mark.fetch_message or "")
    if not (mark.bronze_key and mark.sha256):
        return None
    return _outcome_of_stored(filing, run_id, settings().bronze_bucket, mark.bronze_key, mark.sha256, None)


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


def fetch_filing(filing: FilingDiscovered, run_id: str, trace: str | None = None) -> Fetched:
    # One read instead of an idempotency record's two writes: the watermark says whether this
    # run's fetch already has an outcome, so a duplicate announces it again without a download.
    mark = watermarks.filing(filing.year, filing.doc_id)
    if (recorded := _recorded(filing, run_id, mark)) is not None:
        return Fetched(recorded, again=True)
    return Fetched(_download_and_store(filing, run_id, trace, mark))


def _download_and_store(filing: FilingDiscovered, run_id: str, trace: str | None, mark: FilingMark | None) -> Outcome:
    if watermarks.breaker_open():
        raise SourceBlocked("the Clerk refused us with 403 recently; fetching is paused")
    started = time.monotonic()
    try:
        response = http.get(filing.source_url, max_bytes=MAX_PDF_BYTES)
    except http.Forbidden as exc:
        watermarks.trip_breaker(BREAKER_SECONDS, str(exc))
        raise SourceBlocked(str(exc)) from exc
    except http.TooLarge as exc:
        return _failed(filing, run_id, "too_large", str(exc), mark)
    if response.status in (404, 410):
        return _failed(filing, run_id, "source_missing", f"{filing.source_url} answered {response.status}", mark)
    if response.status != 200:
        return _failed(filing, run_id, f"http_{response.status}", f"{filing.source_url} answered {response.status}",
                       mark)
    problem = _not_pdf_reason(response.body)
    if problem:
        return _failed(filing, run_id, *problem, mark)

    bucket = settings().bronze_bucket
    sha256 = hashlib.sha256(response.body).hexdigest()
    key = keys.pdf_key(filing.year, filing.filing_type, filing.doc_id, sha256)
    if mark is not None and mark.sha256 == sha256:
        if mark.status == DocumentState.FETCH_FAILED and mark.read_status:
            # After a fetch of them failed: the source serves them again, and their kept state is
            # the filing's again (no longer a failure to ask for again).
            if not watermarks.restore_read(filing.year, filing.doc_id, run_id, sha256=sha256, bronze_key=key,
                                           mark=mark):
                log.warning("filing %s/%s moved on since it was read: its kept state not restored", filing.year,
                            filing.doc_id)
        else:
            # The bytes it holds: its state stays (a redelivery or the same file must not undo extracted).
            watermarks.note_fetch_of_held_bytes(filing.year, filing.doc_id, run_id, sha256=sha256, bronze_key=key)
    else:
        # The state before the object: extract, started by the object's S3 event, must find the
        # filing stored, not see its own outcome overwritten. Only new bytes move it back to stored.
        watermarks.move(filing.year, filing.doc_id, DocumentState.STORED, only_new_bytes=True, sha256=sha256,
                        bronze_key=key, fetch_run=run_id, fetch_message=None, reason=None)
    if storage.put_if_absent(bucket, key, response.body, _metadata(filing, run_id, trace), "application/pdf"):
        return DocumentStored(
            doc_id=filing.doc_id, year=filing.year, filing_type=filing.filing_type, bucket=bucket, key=key,
            sha256=sha256, size=len(response.body), fetch_ms=int((time.monotonic() - started) * 1000),
        )
    # The key exists: the same bytes stored by an earlier run (nothing new to extract), or by this
    # run's first copy of the message.
    outcome = _outcome_of_stored(filing, run_id, bucket, key, sha256, started)
    if outcome is None:
        raise RuntimeError(f"s3://{bucket}/{key} was refused as existing, then not found")
    return outcome
