"""Extract: classify a stored PDF, parse PTR rows, write one silver record per document (page text included)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

from events.models import DocumentExtracted, DocumentFailed, DocumentNeedsOcr
from services.common import keys, states, storage, watermarks
from services.common.config import settings
from services.common.documents import PdfMetadata
from services.common.states import DocumentState
from services.common.versions import PARSER_VERSION
from services.extract.analyze import analyze_document
from services.extract.errors import InvalidPdf, ParseFailure

SERVICE = "extract"
Outcome = DocumentExtracted | DocumentNeedsOcr | DocumentFailed


def _record(pdf: keys.PdfKey, key: str, meta: PdfMetadata) -> dict[str, Any]:
    """The silver record's provenance part, from the bronze object's metadata."""
    return {
        "doc_id": pdf.doc_id,
        "year": pdf.year,
        "filing_type": pdf.filing_type,
        "filing_date": meta.filing_date,
        "filer_name": meta.filer_name,
        "source_url": meta.source_url,
        "bronze_key": key,
        "sha256": pdf.sha256,
        "run_id": meta.run_id,
        "parser_version": PARSER_VERSION,
        "extracted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _outcome_from_record(record: dict[str, Any], extract_ms: int) -> Outcome:
    state = states.read_silver(record["extraction_status"], ocr=bool(record.get("ocr")))
    if state is DocumentState.EXTRACT_FAILED:
        return DocumentFailed(
            doc_id=record["doc_id"],
            year=record["year"],
            stage="extract",
            reason=record["failure_reason"],
            message=record.get("failure_message") or record["failure_reason"],
        )
    fields: dict[str, Any] = {}
    # A scanned record the OCR stage has since filled in was still needs_ocr at this stage: the OCR
    # stage re-announces its own stored outcome, it does not read the document again.
    if state in (DocumentState.NEEDS_OCR, *states.STAGE_STATES["ocr"]):
        model: type[DocumentExtracted] = DocumentNeedsOcr
        fields["filing_type"] = record.get("filing_type")
    else:
        model = DocumentExtracted
    return model(
        **fields,
        doc_id=record["doc_id"],
        year=record["year"],
        rendering=record["rendering"],
        pages=record["pages"],
        transactions=0 if model is DocumentNeedsOcr else len((record.get("ptr") or {}).get("transactions", [])),
        silver_key=keys.document_key(record["year"], record["doc_id"]),
        parser_version=record["parser_version"],
        warnings=record.get("warnings", []),
        extract_ms=extract_ms,
    )


def already_done(pdf: keys.PdfKey) -> dict[str, Any] | None:
    """The silver record when this exact content was already extracted by this parser version."""
    mark = watermarks.filing(pdf.year, pdf.doc_id)
    if not (mark and mark.status in states.READ):
        return None
    if mark.sha256 != pdf.sha256 or mark.parser_version != PARSER_VERSION:
        return None
    return storage.get_json_if_exists(settings().silver_bucket, keys.document_key(pdf.year, pdf.doc_id))


def analyze(body: bytes, pdf: keys.PdfKey) -> tuple[dict[str, Any], list[str]]:
    """Run the parser; bad input becomes a failed record rather than an exception."""
    try:
        result = analyze_document(body, doc_id=pdf.doc_id, filing_type=pdf.filing_type)
    except (InvalidPdf, ParseFailure) as exc:
        return {
            "extraction_status": DocumentState.EXTRACT_FAILED,
            "failure_reason": exc.reason,
            "failure_message": str(exc),
            "rendering": None,
            "pages": None,
            "header": None,
            "ptr": None,
            "warnings": [],
        }, []
    record = {
        "extraction_status": DocumentState.NEEDS_OCR if result["rendering"] == "scanned" else DocumentState.EXTRACTED,
        "failure_reason": None,
        "failure_message": None,
        "rendering": result["rendering"],
        "pages": result["pages"],
        "header": result.get("header"),
        "ptr": result.get("ptr"),
        "warnings": result.get("warnings", []),
    }
    return record, result.get("page_text", [])


class Extraction(NamedTuple):
    run_id: str | None
    outcome: Outcome
    trace: str | None
    analyze_ms: int = 0  # the parser's own time (classify, text, parse): 0 when nothing was read again
    again: bool = False  # the outcome stored before, announced again


def extract_object(bucket: str, key: str, run_id: str | None = None, force: bool = False,
                   first_delivery: bool = False) -> Extraction | None:
    """Extract one bronze PDF, or None for a key that is not a PDF.
    The run id and the X-Ray trace header come from the bronze object's metadata (written by fetch)
    unless the request names a run; a PDF put there by hand has none (run_id None). `force`
    extracts again even when this parser version already read these bytes.

    Whether it did is asked first only of a message delivered again (a retry after a crash or a
    failed batch: the read saves the parse). A first delivery is almost always new bytes, so the
    watermark's move is the check: one conditional write, refused for a duplicate (which then
    announces the outcome stored, and writes nothing)."""
    pdf = keys.parse_pdf_key(key)
    if pdf is None:
        return None
    started = time.monotonic()
    body, stored = storage.get_bytes(bucket, key)
    meta = PdfMetadata.from_s3(stored)
    run_id = run_id or meta.run_id
    trace = meta.trace
    done = None if force or first_delivery else already_done(pdf)
    if done is not None:
        return Extraction(run_id, _outcome_from_record(done, 0), trace, again=True)

    analyzing = time.monotonic()
    analysis, page_text = analyze(body, pdf)
    analyze_ms = _ms_since(analyzing)
    # The page text travels in the record: one object per document, and new content without a
    # text layer leaves no text of an earlier version behind.
    record = {**_record(pdf, key, meta), **analysis,
              "page_text": page_text if any(text.strip() for text in page_text) else []}
    silver_key = keys.document_key(pdf.year, pdf.doc_id)
    if not watermarks.move(pdf.year, pdf.doc_id, record["extraction_status"], of_held_bytes=True, only_unread=not force,
                           sha256=pdf.sha256, parser_version=PARSER_VERSION, reason=record["failure_reason"]):
        mark = watermarks.filing(pdf.year, pdf.doc_id)
        if mark is None or mark.sha256 != pdf.sha256:
            # Newer bytes were stored meanwhile: silver is theirs to write. Announced all the same.
            return Extraction(run_id, _outcome_from_record(record, _ms_since(started)), trace, analyze_ms)
        done = storage.get_json_if_exists(settings().silver_bucket, silver_key)
        if done is not None:  # a duplicate: the outcome stored is announced again
            return Extraction(run_id, _outcome_from_record(done, 0), trace, analyze_ms, again=True)
        # Moved, but the record was never written (the previous attempt died between): write it.
    storage.put_json(settings().silver_bucket, silver_key, record, {"run-id": run_id} if run_id else None)
    return Extraction(run_id, _outcome_from_record(record, _ms_since(started)), trace, analyze_ms)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
