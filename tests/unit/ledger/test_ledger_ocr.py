"""A run does not settle while its scanned PTRs wait for OCR; other scanned filings end at extract."""

from __future__ import annotations

from events.models import (
    DocumentFailed,
    DocumentNeedsOcr,
    DocumentOcrExtracted,
    DocumentStored,
    Envelope,
    FilingDiscovered,
    RunDiscovered,
    RunRequested,
)
from services.common.tables import RunDocumentItem, RunItem
from services.ledger.ledger import Ledger, run_pk

RUN = "20251120T070000Z-0cr0cr00"


def _apply(ledger: Ledger, detail, source: str) -> list[Envelope]:
    return ledger.apply(Envelope.build(detail, run_id=RUN, source=source))


def _scanned(ledger: Ledger, doc_ids: dict[str, str | None]) -> list[Envelope]:
    """Discover and store these documents; extract finds each scanned (doc id -> filing type)."""
    _apply(ledger, RunRequested(years=[2025], source_url="x"), "cli")
    _apply(ledger, RunDiscovered(year=2025, index_status="changed", dispatched=len(doc_ids)), "discover")
    announced = []
    for doc, filing_type in doc_ids.items():
        _apply(ledger, FilingDiscovered(doc_id=doc, year=2025, filing_type=filing_type or "P", filer_name="x",
                                        source_url="x"), "discover")
        _apply(ledger, DocumentStored(doc_id=doc, year=2025, filing_type=filing_type or "P", bucket="b", key="k",
                                      sha256="0" * 64, size=1, fetch_ms=1), "fetch")
        announced += _apply(ledger, DocumentNeedsOcr(doc_id=doc, year=2025, rendering="scanned", pages=2, transactions=0,
                                                     silver_key="s", parser_version="1", extract_ms=5,
                                                     filing_type=filing_type), "extract")
    return announced


def _ocr_done(doc: str, rows: int = 3) -> DocumentOcrExtracted:
    return DocumentOcrExtracted(doc_id=doc, year=2025, layout="checkbox", pages=2, transactions=rows, needs_review=1,
                                silver_key="s", ocr_version="1", engine="tesseract", ocr_ms=900)


def _run() -> RunItem:
    return RunItem.get(run_pk(RUN), "RUN", consistent_read=True)


def test_a_scanned_ptr_settles_the_run_only_once_ocr_is_done(ledger_table):
    ledger = Ledger()
    assert _scanned(ledger, {"8221237": "P", "8221120": "P"}) == []
    assert _run().status == "running" and _run().docs_settled == 0

    assert _apply(ledger, _ocr_done("8221237"), "ocr") == []
    settled = _apply(ledger, DocumentFailed(doc_id="8221120", year=2025, stage="ocr", reason="handwritten",
                                            message="every page is handwritten"), "ocr")

    assert [e.event_type for e in settled] == ["run.documents_settled"]
    counts = settled[0].detail.counts
    assert counts["extract_needs_ocr"] == 2 and counts["ocr_extracted"] == 1 and counts["ocr_failed"] == 1
    assert counts["failed_handwritten"] == 1 and counts["transactions"] == 3 and counts["ocr_needs_review"] == 1
    doc = RunDocumentItem.get(run_pk(RUN), "DOC#8221120")
    assert (doc.extract, doc.ocr, doc.terminal, doc.reason) == ("needs_ocr", "ocr_failed", "ocr_failed", "handwritten")
    assert _run().durations_ms.as_dict()["ocr"] == 900


def test_duplicate_ocr_and_needs_ocr_events_count_once(ledger_table):
    ledger = Ledger()
    _scanned(ledger, {"8221237": "P"})
    _apply(ledger, DocumentNeedsOcr(doc_id="8221237", year=2025, rendering="scanned", pages=2, transactions=0,
                                    silver_key="s", parser_version="1", extract_ms=5, filing_type="P"), "extract")
    _apply(ledger, _ocr_done("8221237"), "ocr")
    _apply(ledger, _ocr_done("8221237"), "ocr")
    counts = _run().counts.as_dict()
    assert counts["extract_needs_ocr"] == 1 and counts["ocr_extracted"] == 1 and counts["transactions"] == 3
    assert _run().docs_settled == 1


def test_scanned_filings_of_other_types_and_untyped_events_end_at_extract(ledger_table):
    ledger = Ledger()
    settled = _scanned(ledger, {"8220001": "X", "8220002": None})
    assert [e.event_type for e in settled] == ["run.documents_settled"]
    assert RunDocumentItem.get(run_pk(RUN), "DOC#8220001").terminal == "needs_ocr"
