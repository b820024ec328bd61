"""The OCR stage: a scanned PTR's silver record gets the rows its paper pages hold.

It reacts to `document.needs_ocr` (q-ocr takes filing type P only), reads the bronze PDF the
silver record names, runs the reader, keeps the reader's result beside the record (`ocr.json`)
and merges its rows into `document.json` like e-filed rows (`source: "ocr"`, a confidence, the
`needs_review` reasons, the page). It announces `document.ocr_extracted`, or a terminal
`document.failed` (stage `ocr`) with the reader's reason: handwritten, not_ptr, unreadable,
no_rows, too_many_pages, page_too_large, or the PDF's own (truncated, encrypted, ...).

Idempotent: the watermark holds the sha256 and OCR version read, `ocr.json` the result. A
duplicate message, a redelivery after a crash or a re-extraction of the same bytes reuses the
stored result: no second OCR, and no write when the silver record already holds it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pypdfium2 as pdfium

from events.models import DocumentFailed, DocumentOcrExtracted
from services.common import keys, storage, watermarks
from services.common.config import settings
from services.common.states import DocumentState
from services.extract.errors import InvalidPdf
from services.ocr.model import OcrResult

SERVICE = "ocr"
# Bump whenever the reader's output for the same bytes changes: every scanned PTR is read again.
OCR_VERSION = "1.0.0"

Reader = Callable[[bytes, str | None], OcrResult]
Outcome = DocumentOcrExtracted | DocumentFailed


def read_pdf(reader: Reader, pdf_bytes: bytes, doc_id: str | None) -> OcrResult:
    """Run the reader; a PDF it cannot open becomes a failed result, not an exception.

    Anything else the reader raises (Tesseract missing, out of memory) is a broken dependency:
    it propagates, the message is retried and ends in the DLQ.
    """
    try:
        return reader(pdf_bytes, doc_id)
    except InvalidPdf as exc:
        reason, message = exc.reason, str(exc)
    except pdfium.PdfiumError as exc:
        reason, message = "malformed", f"PDFium cannot read the document: {exc}"
    return OcrResult(layout="unreadable", pages=0, failure_reason=reason, failure_message=message, engine="none")


def silver_rows(result: OcrResult) -> list[dict[str, Any]]:
    """The result's rows as silver dicts; row numbers must be unique in a document (compaction
    refuses repeats), so a reader that repeated one gets its rows numbered in order, with a note."""
    rows = [row.model_dump(mode="json") for row in result.transactions]
    if len({r["row"] for r in rows}) != len(rows):
        for number, row in enumerate(rows, start=1):
            row["row"] = number
    return rows


def succeeded(result: OcrResult) -> bool:
    """Rows were given. A reader that flags some pages (handwritten) but read others gives rows."""
    return bool(result.transactions)


def failure_reason(result: OcrResult) -> str:
    return result.failure_reason or "no_rows"


def merge(record: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The silver record with the OCR result in it. Depends only on the record's extract part and
    the stored result, so merging again gives the same record."""
    result = OcrResult.model_validate(stored["result"])
    rows = silver_rows(result)
    ok = succeeded(result)
    header = dict(record.get("header") or {})
    for name, value in (("filer_name", result.filer_name), ("state_district", result.state_district),
                        ("signature_date", result.signature_date)):
        header[name] = header.get(name) or value
    ptr = dict(record.get("ptr") or {})
    ptr.update(transactions=rows, warnings=list(result.warnings), rendering="scanned",
               filer_name=ptr.get("filer_name") or result.filer_name,
               state_district=ptr.get("state_district") or result.state_district,
               signature_date=ptr.get("signature_date") or result.signature_date)
    message = result.failure_message or f"the OCR reader gave no row ({failure_reason(result)})"
    return {
        **record,
        "extraction_status": DocumentState.OCR_EXTRACTED if ok else DocumentState.OCR_FAILED,
        "failure_reason": None if ok else failure_reason(result),
        "failure_message": None if ok else message,
        "header": header,
        "ptr": ptr,
        "warnings": list(result.warnings),
        "ocr": {
            "sha256": stored["sha256"],
            "ocr_version": stored["ocr_version"],
            "engine": result.engine,
            "layout": result.layout,
            "rows": len(rows),
            "needs_review_rows": sum(bool(r["needs_review"]) for r in rows),
            "page_info": [p.model_dump(mode="json") for p in result.page_info],
            "cpu_seconds": result.cpu_seconds,
            "ocr_ms": stored["ocr_ms"],
            "ocr_at": stored["ocr_at"],
            "failure_reason": None if ok else failure_reason(result),
        },
    }


def outcome(record: dict[str, Any], stored: dict[str, Any]) -> Outcome:
    result = OcrResult.model_validate(stored["result"])
    if not succeeded(result):
        return DocumentFailed(doc_id=record["doc_id"], year=record["year"], stage="ocr",
                              reason=failure_reason(result), message=record["failure_message"])
    return DocumentOcrExtracted(
        doc_id=record["doc_id"], year=record["year"], layout=result.layout, pages=result.pages,
        transactions=record["ocr"]["rows"], needs_review=record["ocr"]["needs_review_rows"],
        silver_key=keys.document_key(record["year"], record["doc_id"]), ocr_version=stored["ocr_version"],
        engine=result.engine, warnings=list(result.warnings), ocr_ms=stored["ocr_ms"], cpu_seconds=result.cpu_seconds,
    )


def stored_result(year: int, doc_id: str, sha256: str) -> dict[str, Any] | None:
    """The kept OCR result when these bytes were already read by this OCR version."""
    mark = watermarks.filing(year, doc_id)
    if not (mark and mark.ocr_sha256 == sha256 and mark.ocr_version == OCR_VERSION):
        return None
    key = keys.document_ocr_key(year, doc_id)
    if storage.head(settings().silver_bucket, key) is None:
        return None
    stored = storage.get_json(settings().silver_bucket, key)
    return stored if stored.get("sha256") == sha256 and stored.get("ocr_version") == OCR_VERSION else None


def _superseded(record: dict[str, Any], doc_id: str, year: int) -> DocumentFailed:
    return DocumentFailed(doc_id=doc_id, year=year, stage="ocr", reason="not_scanned",
                          message=f"the silver record is {record.get('rendering')!r}, not a scanned document: "
                                  "newer bytes were extracted since this request")


def ocr_document(year: int, doc_id: str, reader: Reader) -> tuple[Outcome, bool]:
    """OCR one scanned PTR named by its silver record. Returns (outcome, whether the reader ran).

    Raises when the silver record or the bronze PDF cannot be read (retried, then the DLQ)."""
    silver = settings().silver_bucket
    record_key = keys.document_key(year, doc_id)
    record = storage.get_json(silver, record_key)
    if record.get("rendering") != "scanned":
        return _superseded(record, doc_id, year), False
    sha256 = record["sha256"]
    stored = stored_result(year, doc_id, sha256)
    ran = stored is None
    if stored is None:
        started = time.monotonic()
        body, _ = storage.get_bytes(settings().bronze_bucket, record["bronze_key"])
        if hashlib.sha256(body).hexdigest() != sha256:
            result = OcrResult(layout="unreadable", pages=0, failure_reason="checksum_mismatch", engine="none",
                               failure_message=f"{record['bronze_key']}: the bytes do not match their sha256")
        else:
            result = read_pdf(reader, body, doc_id)
        stored = {"doc_id": doc_id, "sha256": sha256, "ocr_version": OCR_VERSION,
                  "ocr_ms": int((time.monotonic() - started) * 1000),
                  "ocr_at": datetime.now(UTC).isoformat(timespec="seconds"), "result": result.model_dump(mode="json")}
        storage.put_json(silver, keys.document_ocr_key(year, doc_id), stored)
    merged = merge(record, stored)
    # Result first, then the mark: a crash between them costs a second reading, never a lost one.
    if not watermarks.move(year, doc_id, merged["extraction_status"], of_held_bytes=True, sha256=sha256,
                           ocr_sha256=sha256, ocr_version=OCR_VERSION):
        mark = watermarks.filing(year, doc_id)
        if mark is not None and mark.sha256 != sha256:
            # Newer bytes were stored while the scan was read: silver is theirs to write.
            return outcome(merged, stored), ran
    if merged != record:
        run_id = record.get("run_id")
        storage.put_json(silver, record_key, merged, {"run-id": run_id} if run_id else None)
    return outcome(merged, stored), ran
