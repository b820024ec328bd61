"""The OCR stage's decisions, with a small fake reader: what it writes to silver, what it announces,
and that a duplicate, a redelivery or a re-extraction of the same bytes reads nothing again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from events.models import DocumentFailed, DocumentOcrExtracted
from services.common import keys, watermarks
from services.common.states import DocumentState
from services.extract.errors import InvalidPdf
from services.ocr import stage
from services.ocr.model import OcrPage, OcrResult, OcrRow

PDF = b"%PDF-1.4 a scanned PTR stand-in\n%%EOF"
SHA = hashlib.sha256(PDF).hexdigest()
YEAR, DOC = 2025, "8221237"


class FakeReader:
    """Counts its calls and returns the result it was given (or raises it)."""

    def __init__(self, result: OcrResult | Exception) -> None:
        self.result, self.calls = result, 0

    def __call__(self, pdf_bytes: bytes, doc_id: str | None) -> OcrResult:
        self.calls += 1
        assert pdf_bytes == PDF and doc_id == DOC
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def typed_result(rows: int = 2) -> OcrResult:
    return OcrResult(
        layout="checkbox", pages=2, engine="tesseract 5.3.0", cpu_seconds=1.5, filer_name="Hon. Jane Doe",
        state_district="CA11", signature_date="2025-03-01",
        page_info=[OcrPage(page=1, rotation=90, kind="form", word_confidence=88.0)],
        transactions=[
            OcrRow(row=n, page=1, owner="SP", asset_name=f"Asset {n}", transaction_type="P", transaction_date="2025-02-03",
                   notification_date="2025-02-10", amount_low=1001.0, amount_high=15000.0, confidence=0.8 if n == 1 else 1.0,
                   needs_review=["asset_name_uncertain"] if n == 1 else [])
            for n in range(1, rows + 1)
        ],
    )


def failed_result(reason: str) -> OcrResult:
    return OcrResult(layout="handwritten", pages=1, engine="tesseract 5.3.0", failure_reason=reason,
                     failure_message=f"every page is {reason}")


@pytest.fixture
def silver(moto_aws, monkeypatch) -> Iterator:
    """Moto buckets and watermarks, a bronze PDF and the silver record extract wrote for it."""
    from services.common import aws, config, tables

    monkeypatch.setenv("WATERMARKS_TABLE", "watermarks")
    config.settings.cache_clear()
    tables.configure(ledger="ledger", watermarks="watermarks")
    tables.WatermarksTable.create_table(wait=True)
    s3 = aws.client("s3")
    for bucket in ("bronze", "silver"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="silver", VersioningConfiguration={"Status": "Enabled"})
    bronze_key = keys.pdf_key(YEAR, "P", DOC, SHA)
    s3.put_object(Bucket="bronze", Key=bronze_key, Body=PDF)
    write_extract_record(s3, bronze_key)
    assert watermarks.move(YEAR, DOC, DocumentState.NEEDS_OCR, sha256=SHA, parser_version="1.0.0")
    yield s3


def write_extract_record(s3, bronze_key: str, rendering: str = "scanned") -> None:
    record = {
        "doc_id": DOC, "year": YEAR, "filing_type": "P", "filing_date": "2025-03-02", "filer_name": "Doe, Jane",
        "source_url": f"https://clerk/public_disc/ptr-pdfs/2025/{DOC}.pdf", "bronze_key": bronze_key, "sha256": SHA,
        "run_id": "run-1", "parser_version": "1.0.0", "extracted_at": "2025-03-03T00:00:00+00:00",
        "extraction_status": "needs_ocr", "failure_reason": None, "failure_message": None, "rendering": rendering,
        "pages": 2, "header": {"filer_name": None, "status": None, "state_district": None, "signature_date": None},
        "ptr": {"doc_id": DOC, "filer_name": None, "transactions": [], "warnings": ["scanned filing"]},
        "warnings": ["scanned filing"],
    }
    s3.put_object(Bucket="silver", Key=keys.document_key(YEAR, DOC), Body=json.dumps(record).encode())


def record(s3) -> dict:
    return json.loads(s3.get_object(Bucket="silver", Key=keys.document_key(YEAR, DOC))["Body"].read())


def versions(s3) -> int:
    return len(s3.list_object_versions(Bucket="silver", Prefix=keys.document_key(YEAR, DOC)).get("Versions", []))


def test_a_typed_scan_gets_its_rows_in_silver_like_efiled_rows(silver):
    reader = FakeReader(typed_result())
    outcome, ran = stage.ocr_document(YEAR, DOC, reader)

    assert ran and reader.calls == 1
    assert isinstance(outcome, DocumentOcrExtracted)
    assert (outcome.transactions, outcome.needs_review, outcome.layout, outcome.pages) == (2, 1, "checkbox", 2)
    doc = record(silver)
    assert doc["extraction_status"] == "ocr_extracted" and doc["rendering"] == "scanned"
    assert [r["source"] for r in doc["ptr"]["transactions"]] == ["ocr", "ocr"]
    first = doc["ptr"]["transactions"][0]
    assert (first["page"], first["confidence"], first["needs_review"]) == (1, 0.8, ["asset_name_uncertain"])
    assert doc["header"]["signature_date"] == "2025-03-01" and doc["header"]["state_district"] == "CA11"
    assert doc["ocr"]["engine"] == "tesseract 5.3.0" and doc["ocr"]["sha256"] == SHA
    assert doc["warnings"] == []  # the reader's warnings replace extract's "no text layer"
    mark = watermarks.filing(YEAR, DOC)
    assert (mark.status, mark.ocr_sha256, mark.ocr_version) == (DocumentState.OCR_EXTRACTED, SHA, stage.OCR_VERSION)
    assert mark.parser_version == "1.0.0"  # extract's part of the mark is left alone


def test_a_duplicate_message_reads_nothing_again_and_changes_nothing(silver):
    reader = FakeReader(typed_result())
    first, _ = stage.ocr_document(YEAR, DOC, reader)
    before = versions(silver)
    again, ran = stage.ocr_document(YEAR, DOC, reader)

    assert not ran and reader.calls == 1
    assert again == first
    assert versions(silver) == before


def test_a_re_extraction_of_the_same_bytes_gets_the_stored_rows_back_without_ocr(silver):
    reader = FakeReader(typed_result())
    first, _ = stage.ocr_document(YEAR, DOC, reader)
    write_extract_record(silver, keys.pdf_key(YEAR, "P", DOC, SHA))  # extract wrote the record anew
    again, ran = stage.ocr_document(YEAR, DOC, reader)

    assert not ran and reader.calls == 1 and again == first
    assert len(record(silver)["ptr"]["transactions"]) == 2


def test_a_newer_ocr_version_reads_the_scan_again(silver, monkeypatch):
    reader = FakeReader(typed_result())
    stage.ocr_document(YEAR, DOC, reader)
    monkeypatch.setattr(stage, "OCR_VERSION", "9.9.9")
    _, ran = stage.ocr_document(YEAR, DOC, reader)
    assert ran and reader.calls == 2
    assert record(silver)["ocr"]["ocr_version"] == "9.9.9"


@pytest.mark.parametrize("reason", ["handwritten", "not_ptr", "unreadable", "too_many_pages"])
def test_a_scan_without_rows_is_a_terminal_failure_with_the_readers_reason(silver, reason):
    outcome, _ = stage.ocr_document(YEAR, DOC, FakeReader(failed_result(reason)))

    assert isinstance(outcome, DocumentFailed)
    assert (outcome.stage, outcome.reason) == ("ocr", reason)
    assert reason in outcome.message
    doc = record(silver)
    assert (doc["extraction_status"], doc["failure_reason"]) == ("ocr_failed", reason)
    assert doc["ptr"]["transactions"] == []
    assert watermarks.filing(YEAR, DOC).status == DocumentState.OCR_FAILED


def test_no_rows_and_no_reason_is_no_rows(silver):
    empty = OcrResult(layout="checkbox", pages=1, engine="tesseract 5.3.0")
    outcome, _ = stage.ocr_document(YEAR, DOC, FakeReader(empty))
    assert isinstance(outcome, DocumentFailed) and outcome.reason == "no_rows"


def test_a_pdf_the_reader_cannot_open_is_a_terminal_failure_recorded_once(silver):
    reader = FakeReader(InvalidPdf("truncated", "no %%EOF marker"))
    outcome, _ = stage.ocr_document(YEAR, DOC, reader)
    again, ran = stage.ocr_document(YEAR, DOC, reader)

    assert isinstance(outcome, DocumentFailed) and outcome.reason == "truncated"
    assert again == outcome and not ran and reader.calls == 1


def test_a_broken_dependency_raises_so_the_message_is_retried(silver):
    reader = FakeReader(OSError("tesseract: command not found"))
    with pytest.raises(OSError):
        stage.ocr_document(YEAR, DOC, reader)
    assert watermarks.filing(YEAR, DOC).status == DocumentState.NEEDS_OCR
    assert record(silver)["extraction_status"] == "needs_ocr"


def test_bronze_bytes_that_do_not_match_their_hash_are_not_read(silver):
    silver.put_object(Bucket="bronze", Key=keys.pdf_key(YEAR, "P", DOC, SHA), Body=PDF + b"tampered")
    reader = FakeReader(typed_result())
    outcome, _ = stage.ocr_document(YEAR, DOC, reader)
    assert isinstance(outcome, DocumentFailed) and outcome.reason == "checksum_mismatch" and reader.calls == 0


def test_repeated_row_numbers_are_numbered_in_order(silver):
    result = typed_result(3)
    for row in result.transactions:
        row.row = 1
    stage.ocr_document(YEAR, DOC, FakeReader(result))
    assert [r["row"] for r in record(silver)["ptr"]["transactions"]] == [1, 2, 3]


def test_a_request_for_a_record_no_longer_scanned_ends_without_ocr(silver):
    write_extract_record(silver, keys.pdf_key(YEAR, "P", DOC, SHA), rendering="efiled")
    reader = FakeReader(typed_result())
    outcome, ran = stage.ocr_document(YEAR, DOC, reader)
    assert isinstance(outcome, DocumentFailed) and outcome.reason == "not_scanned"
    assert not ran and reader.calls == 0


def test_newer_bytes_stored_during_the_reading_keep_their_silver_record_and_state(silver):
    newer = {"doc_id": DOC, "year": YEAR, "extraction_status": "extracted", "sha256": "b" * 64, "rendering": "efiled"}

    class NewerBytesMeanwhile(FakeReader):
        def __call__(self, pdf_bytes: bytes, doc_id: str | None) -> OcrResult:
            # Fetch stored newer bytes and extract read them while this scan was being read.
            assert watermarks.move(YEAR, DOC, DocumentState.STORED, sha256="b" * 64, bronze_key="newer")
            assert watermarks.move(YEAR, DOC, DocumentState.EXTRACTED, of_held_bytes=True, sha256="b" * 64)
            silver.put_object(Bucket="silver", Key=keys.document_key(YEAR, DOC), Body=json.dumps(newer).encode())
            return super().__call__(pdf_bytes, doc_id)

    outcome, ran = stage.ocr_document(YEAR, DOC, NewerBytesMeanwhile(typed_result()))
    assert ran and isinstance(outcome, DocumentOcrExtracted)  # announced all the same: the run waits for it
    assert record(silver) == newer
    mark = watermarks.filing(YEAR, DOC)
    assert (mark.status, mark.sha256, mark.ocr_sha256) == (DocumentState.EXTRACTED, "b" * 64, None)
