"""OCR rows through Gold: source, confidence, needs_review and page kept; older silver defaults;
coverage tells OCR'd scans from e-filed filings and from scans still unreadable; the quality
report counts OCR rows apart."""

from __future__ import annotations

from datetime import date

import pytest
from gold_records import document_record, row

from services.build_gold.compact import RecordError, SilverObject, parse_document
from services.build_gold.quality import run_checks
from services.common import keys


def _filing(doc_id: str) -> dict:
    return {"doc_id": doc_id, "year": 2025, "prefix": "Hon.", "first": "Nancy", "last": "Pelosi", "suffix": None,
            "filing_type": "P", "state_district": "CA11", "filing_date": "2025-03-01"}


def _ocr_row(n: int, page: int, review: list[str]) -> dict:
    return row(n, page=page, source="ocr", needs_review=review, confidence=0.75 if review else 1.0,
               asset_name=f"Scanned asset {n}", ticker=None)


@pytest.fixture
def records() -> list[dict]:
    efiled = document_record("20026590", ptr={"transactions": [row(1), row(2, ticker="MSFT")]})  # no source: older silver
    ocr = document_record("8221237", rendering="scanned",
                          ptr={"transactions": [_ocr_row(1, 1, []), _ocr_row(2, 2, ["amount_marks"])]})
    handwritten = document_record("8220796", rendering="scanned", status="failed", ptr={"transactions": []})
    not_ptr = document_record("8220001", filing_type="X", rendering="scanned", status="needs_ocr")
    return [efiled, ocr, handwritten, not_ptr]


def test_gold_keeps_the_source_and_review_reasons_of_each_row(gold_from, records):
    snapshot = {"filings": [_filing(r["doc_id"]) for r in records]}
    facts = {(f["doc_id"], f["row"]): f for f in gold_from(snapshot, records)["fact_transactions"].to_pylist()}

    assert {k: (f["source"], f["needs_review"]) for k, f in facts.items()} == {
        ("20026590", 1): ("efiled", []), ("20026590", 2): ("efiled", []),
        ("8221237", 1): ("ocr", []), ("8221237", 2): ("ocr", ["amount_marks"]),
    }
    assert (facts[("8221237", 2)]["page"], facts[("8221237", 2)]["confidence"]) == (2, 0.75)
    assert facts[("8221237", 2)]["source_url"].endswith("/8221237.pdf")


def test_coverage_counts_ocrd_scans_apart_from_efiled_and_unreadable_ones(gold_from, records):
    snapshot = {"filings": [_filing(r["doc_id"]) for r in records[:3]] + [{**_filing("8220001"), "filing_type": "X"}]}
    quality = {(q["filing_type"], q["rendering"]): q for q in gold_from(snapshot, records)["agg_document_quality"].to_pylist()}

    scanned = quality[("P", "scanned")]
    assert (scanned["filings"], scanned["extracted"], scanned["failed"], scanned["coverage"]) == (2, 1, 1, 0.5)
    assert (scanned["transactions"], scanned["needs_review_transactions"]) == (2, 1)
    efiled = quality[("P", "efiled")]
    assert (efiled["extracted"], efiled["transactions"], efiled["needs_review_transactions"]) == (1, 2, 0)
    assert quality[("X", "scanned")]["needs_ocr"] == 1


def test_the_quality_report_counts_ocr_rows_apart(gold_from, records):
    snapshot = {"filings": [_filing(r["doc_id"]) for r in records]}
    report = run_checks(gold_from(snapshot, records), today=date(2025, 12, 1))
    assert report.rows_by_source == {
        "efiled": {"rows": 2, "filings": 1, "needs_review": 0, "mean_confidence": 0.9},
        "ocr": {"rows": 2, "filings": 1, "needs_review": 1, "mean_confidence": 0.875},
    }
    assert report.to_dict()["rows_by_source"]["ocr"]["rows"] == 2


@pytest.mark.parametrize(("field", "value", "message"), [
    ("source", "fax", r"ptr\.transactions\.0\.source: Input should be 'efiled' or 'ocr'"),
    ("needs_review", "amount", r"ptr\.transactions\.0\.needs_review: Input should be a valid list"),
])
def test_a_row_with_a_bad_source_or_review_list_is_reported(field, value, message):
    record = document_record("8221237", rendering="scanned", ptr={"transactions": [{**_ocr_row(1, 1, []), field: value}]})
    with pytest.raises(RecordError, match=message):
        parse_document(SilverObject(keys.document_key(2025, "8221237"), record), 2025)
