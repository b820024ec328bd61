"""The OCR handler on its own, fed the JSON event fixture, and the topic's routing to q-ocr."""

from __future__ import annotations

import hashlib
import json

import pytest

from events.models import DocumentNeedsOcr, DocumentOcrExtracted, Envelope, parse_event
from services.common import bus, keys, watermarks
from services.ocr.model import OcrResult, OcrRow
from tests.integration.conftest import envelope_event, lambda_event

pytestmark = pytest.mark.integration

DOC = "8221237"


@pytest.fixture
def scanned_ptr(fixtures_dir):
    path = fixtures_dir / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025" / f"{DOC}.pdf"
    if not path.is_file():
        pytest.skip(f"shared fixture {path} is absent")
    return path.read_bytes()


class CountingReader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, pdf_bytes: bytes, doc_id: str | None) -> OcrResult:
        self.calls += 1
        assert pdf_bytes.startswith(b"%PDF-") and doc_id == DOC
        row = OcrRow(row=1, page=1, asset_name="Apple Inc.", transaction_type="P", confidence=0.9)
        return OcrResult(layout="checkbox", pages=2, engine="test", transactions=[row])


def test_extract_hands_a_scanned_ptr_to_ocr_which_reads_it_once(harness, scanned_ptr, monkeypatch):
    from services.ocr import handler

    s3 = harness.runtime.client("s3")
    key = keys.pdf_key(2025, "P", DOC, hashlib.sha256(scanned_ptr).hexdigest())
    s3.put_object(Bucket=harness.env["BRONZE_BUCKET"], Key=key, Body=scanned_ptr,
                  Metadata={"run-id": "20251201T070000Z-0c5ca000"})
    extract_event = lambda_event("sqs_s3_object_created", BUCKET=harness.env["BRONZE_BUCKET"], KEY=key.replace("=", "%3D"))
    harness.invoke("services.extract.handler.lambda_handler", extract_event)
    [needs] = harness.published()
    assert needs["event_type"] == "document.needs_ocr"
    assert DocumentNeedsOcr.model_validate(needs["detail"]).filing_type == "P"

    reader = CountingReader()
    monkeypatch.setattr(handler, "reader", lambda: reader)
    event = lambda_event("sqs_needs_ocr")
    for _ in range(2):
        assert harness.invoke("services.ocr.handler.lambda_handler", event) == {"batchItemFailures": []}
    first, second = harness.published()
    assert first["event_type"] == second["event_type"] == "document.ocr_extracted"
    assert first["run_id"] == "20251201T070000Z-0c5ca000" and first["source"] == "ocr"
    assert DocumentOcrExtracted.model_validate(first["detail"]).transactions == 1
    assert second["detail"] == first["detail"] and reader.calls == 1
    assert watermarks.filing(2025, DOC).status == "ocr_extracted"


def test_only_scanned_ptrs_reach_the_ocr_queue(harness):
    sqs = harness.runtime.client("sqs")
    queue = harness.runtime.provisioned.queues["OcrQueue"]
    for doc_id, filing_type in (("8221237", "P"), ("8220001", "X"), ("8220002", None)):
        detail = DocumentNeedsOcr(doc_id=doc_id, year=2025, rendering="scanned", pages=1, transactions=0, silver_key="s",
                                  parser_version="1", extract_ms=1, filing_type=filing_type)
        bus.publish_one(Envelope.build(detail, run_id="run-route", source="extract"))
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["doc_id"] for m in received] == ["8221237"]


def test_the_real_reader_reads_a_typed_scan_and_refuses_a_handwritten_one(harness, fixtures_dir):
    """No stand-in: Tesseract on two real paper PTRs of 2025, through the handler."""
    s3 = harness.runtime.client("s3")
    run_id = "20251201T070000Z-0c5ca001"
    outcomes = {}
    for doc_id in (DOC, "8220796"):
        path = fixtures_dir / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025" / f"{doc_id}.pdf"
        if not path.is_file():
            pytest.skip(f"shared fixture {path} is absent")
        body = path.read_bytes()
        key = keys.pdf_key(2025, "P", doc_id, hashlib.sha256(body).hexdigest())
        s3.put_object(Bucket=harness.env["BRONZE_BUCKET"], Key=key, Body=body, Metadata={"run-id": run_id})
        harness.invoke("services.extract.handler.lambda_handler",
                       lambda_event("sqs_s3_object_created", BUCKET=harness.env["BRONZE_BUCKET"], KEY=key.replace("=", "%3D")))
        [needs] = harness.published()
        envelope = parse_event(needs)
        assert harness.invoke("services.ocr.handler.lambda_handler", envelope_event(envelope)) == {"batchItemFailures": []}
        [outcomes[doc_id]] = harness.published()
    typed = DocumentOcrExtracted.model_validate(outcomes[DOC]["detail"])
    assert typed.transactions > 0 and typed.engine.startswith("tesseract")
    silver = json.loads(s3.get_object(Bucket=harness.env["SILVER_BUCKET"], Key=keys.document_key(2025, DOC))["Body"].read())
    rows = silver["ptr"]["transactions"]
    assert len(rows) == typed.transactions and all(r["source"] == "ocr" and r["page"] >= 1 for r in rows)
    assert all(0.0 <= r["confidence"] <= 1.0 and isinstance(r["needs_review"], list) for r in rows)
    handwritten = outcomes["8220796"]
    assert handwritten["event_type"] == "document.failed"
    assert (handwritten["detail"]["stage"], handwritten["detail"]["reason"]) == ("ocr", "handwritten")
