"""The OCR reader on the hand-labelled scanned PTRs: the issue's accuracy bar, and what it
says about handwriting. Each document is read once per module (OCR costs ~1 CPU-s a page)."""

from __future__ import annotations

import json

import pytest

from services.ocr.evaluate import (
    CORE_FIELDS,
    MAX_ASSET_CER,
    MIN_FIELD_ACCURACY,
    ScannedEvaluation,
    evaluate_scanned,
)
from services.ocr.model import OcrResult
from services.ocr.reader import read_scanned_ptr
from tests.unit.ocr.conftest import GOLDEN_DIR, SCANNED_DIR, scanned_pdf

_cache: dict[str, OcrResult] = {}


def _read(pdf_bytes: bytes, doc_id: str) -> OcrResult:
    if doc_id not in _cache:
        _cache[doc_id] = read_scanned_ptr(pdf_bytes, doc_id)
    return _cache[doc_id]


@pytest.fixture(scope="module")
def evaluation() -> ScannedEvaluation:
    if not GOLDEN_DIR.is_dir():
        pytest.skip(f"shared fixture {GOLDEN_DIR} absent")
    return evaluate_scanned(GOLDEN_DIR, SCANNED_DIR, read=_read)


def test_every_typed_row_found(evaluation: ScannedEvaluation) -> None:
    assert evaluation.documents == 3
    assert evaluation.golden_rows == 45
    assert evaluation.recall == 1.0, evaluation.mismatches
    assert evaluation.precision == 1.0, evaluation.mismatches


def test_core_fields_right_on_nine_rows_in_ten(evaluation: ScannedEvaluation) -> None:
    accuracy = evaluation.field_accuracy()
    for name in CORE_FIELDS:
        assert accuracy[name] >= MIN_FIELD_ACCURACY, (name, evaluation.mismatches)
    # The marks are read from pixels: every type and amount of these three filings is right.
    assert accuracy["transaction_type"] == 1.0
    assert accuracy["amount_low"] == 1.0


def test_asset_names_close_and_wrong_ones_flagged(evaluation: ScannedEvaluation) -> None:
    assert evaluation.asset_cer < MAX_ASSET_CER
    assert evaluation.unflagged_wrong_names == 0, evaluation.mismatches
    assert evaluation.field_accuracy()["ticker"] == 1.0
    assert evaluation.field_accuracy()["subholding_of"] == 1.0


def test_handwritten_filing_flagged_without_rows(evaluation: ScannedEvaluation) -> None:
    assert evaluation.handwritten_documents == 1
    assert evaluation.handwritten_flagged == 1
    assert evaluation.handwritten_rows_invented == 0
    result = _cache["8220796"]
    assert result.failure_reason == "handwritten"
    assert [p.kind for p in result.page_info] == ["handwritten"]
    assert result.warnings


def test_rows_carry_source_and_honest_confidence(evaluation: ScannedEvaluation) -> None:
    rows = [row for doc in ("8221237", "8220844", "8221120") for row in _cache[doc].transactions]
    assert all(row.source == "ocr" for row in rows)
    for row in rows:
        assert (row.confidence == 1.0) == (not row.checks_failed)
        assert bool(row.checks_failed) == bool(row.needs_review)
    # 8220844 row 3: italic '3/27/25' read as '8/27/25' lands after the notification date.
    italic = _cache["8220844"].transactions[2]
    assert "notification_not_before_transaction" in italic.checks_failed


def test_page_orientation_and_cover(evaluation: ScannedEvaluation) -> None:
    assert [p.rotation for p in _cache["8221237"].page_info] == [0, 0]
    assert [p.rotation for p in _cache["8220844"].page_info] == [90]
    assert _cache["8221237"].state_district == "TN03"
    assert _cache["8221237"].layout in ("old_form", "checkbox")
    assert _cache["8221120"].transactions[0].subholding_of == "LLM FAMILY INVESTMENTS LP"


def test_result_serialises(evaluation: ScannedEvaluation) -> None:
    data = json.loads(_cache["8221237"].model_dump_json())
    assert data["engine"].startswith("tesseract 5")
    assert len(data["transactions"]) == 10
    assert scanned_pdf("8221237").is_file()
