"""Scanned PTRs through the whole local stack: extract hands them to the OCR stage by event, the
run settles only once they are read, their rows reach Gold with source "ocr", a duplicate delivery
changes nothing, and a scan with nothing to read ends as a recorded terminal failure."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pypdfium2 as pdfium
import pytest

from tests.e2e.helpers import keys, member_xml, object_versions

pytestmark = pytest.mark.e2e

TYPED = ("8221237", "8220844")  # typed checkbox forms (hand-labelled in golden/ptr-scanned)
HANDWRITTEN = "8220796"
EFILED = "20026590"
BLANK = "8299999"  # a scan of nothing: no text layer, no form


def _index_members(index_zip: Path, doc_ids: set[str]) -> list[str]:
    with zipfile.ZipFile(index_zip) as archive:
        xml = archive.read("2025FD.xml").decode("utf-8-sig")
    members = re.findall(r"<Member>.*?</Member>", xml, flags=re.S)
    return [m for m in members if re.search(r"<DocID>(\d+)</DocID>", m).group(1) in doc_ids]


def _blank_pdf() -> bytes:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(792, 612)
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    return buffer.getvalue()


@pytest.fixture
def scanned_mirror(fixtures_dir, tmp_path) -> Path:
    """A small mirror of real 2025 filings: three paper PTRs, one e-filed PTR and a blank scan."""
    source = fixtures_dir / "house-clerk" / "mirror-2025" / "public_disc"
    wanted = {*TYPED, HANDWRITTEN, EFILED}
    if not all((source / "ptr-pdfs" / "2025" / f"{d}.pdf").is_file() for d in wanted):
        pytest.skip("shared fixture mirror-2025 is absent")
    root = tmp_path / "mirror"
    ptr = root / "public_disc" / "ptr-pdfs" / "2025"
    fin = root / "public_disc" / "financial-pdfs"
    ptr.mkdir(parents=True)
    fin.mkdir(parents=True)
    for doc_id in wanted:
        shutil.copy(source / "ptr-pdfs" / "2025" / f"{doc_id}.pdf", ptr / f"{doc_id}.pdf")
    (ptr / f"{BLANK}.pdf").write_bytes(_blank_pdf())
    members = _index_members(source / "financial-pdfs" / "2025FD.zip", wanted)
    assert len(members) == len(wanted)
    xml = "<FinancialDisclosure>" + "".join(members) + member_xml(BLANK, "P") + "</FinancialDisclosure>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2025FD.xml", xml)
    (fin / "2025FD.zip").write_bytes(buffer.getvalue())
    return root


def _gold_facts(stack) -> list[dict]:
    s3 = stack.client("s3")
    bucket = stack.provisioned.environment["GOLD_BUCKET"]
    from services.common.keys import GOLD_POINTER_KEY

    pointer = json.loads(s3.get_object(Bucket=bucket, Key=GOLD_POINTER_KEY)["Body"].read())
    parts = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
             for k in pointer["tables"]["fact_transactions"]]
    return [row for part in parts for row in part.to_pylist()]


def test_scanned_ptrs_are_read_by_the_ocr_stage_into_gold(make_stack, scanned_mirror):
    from events.models import DocumentNeedsOcr, Envelope
    from services.common import keys as s3keys

    stack = make_stack(scanned_mirror)
    run_id = stack.request_run([2025])
    run = stack.wait_for_run(run_id, timeout_s=600)
    assert run["status"] == "succeeded", (run, stack.diagnostics())

    counts = run["counts"]
    docs = {d["doc_id"]: d for d in stack.run_item(run_id)["documents"]}
    assert counts["extract_needs_ocr"] == 4 and counts["ocr_extracted"] == 2
    for doc_id in TYPED:
        assert (docs[doc_id]["extract"], docs[doc_id]["ocr"], docs[doc_id]["terminal"]) == (
            "needs_ocr", "ocr_extracted", "ocr_extracted")
    # A scan with nothing to read, and a handwritten form: recorded, terminal, with the reason.
    assert (docs[BLANK]["ocr"], docs[BLANK]["terminal"]) == ("ocr_failed", "ocr_failed") and docs[BLANK]["reason"]
    assert (docs[HANDWRITTEN]["terminal"], docs[HANDWRITTEN]["reason"]) == ("ocr_failed", "handwritten")
    assert counts["ocr_failed"] == 2 and any(f"ocr {BLANK}:" in e for e in run["errors"])
    assert docs[EFILED]["terminal"] == "extracted"

    facts = _gold_facts(stack)
    ocr_rows = [f for f in facts if f["source"] == "ocr"]
    assert {f["doc_id"] for f in ocr_rows} == set(TYPED)
    assert all(f["page"] and f["source_url"].endswith(f"/{f['doc_id']}.pdf") for f in ocr_rows)
    assert all(f["source"] == "efiled" for f in facts if f["doc_id"] == EFILED)
    assert counts["ocr_transactions"] == len(ocr_rows)

    # The same request twice more, and extract's S3 event again: no second OCR, nothing changes.
    before = {b: object_versions(stack, b) for b in ("SILVER_BUCKET", "GOLD_BUCKET")}
    run_before = stack.run_item(run_id)
    sqs, queues = stack.client("sqs"), stack.provisioned.queues
    silver = stack.client("s3").get_object(Bucket=stack.provisioned.environment["SILVER_BUCKET"],
                                           Key=s3keys.document_key(2025, TYPED[0]))
    record = json.loads(silver["Body"].read())
    request = Envelope.build(DocumentNeedsOcr(doc_id=TYPED[0], year=2025, rendering="scanned", pages=record["pages"],
                                              transactions=0, silver_key=s3keys.document_key(2025, TYPED[0]),
                                              parser_version=record["parser_version"], extract_ms=1, filing_type="P"),
                             run_id=run_id, source="extract")
    pdf_key = next(k for k in keys(stack, "BRONZE_BUCKET", "house-fd/pdf/") if f"doc_id={TYPED[0]}" in k)
    s3_event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": stack.provisioned.environment["BRONZE_BUCKET"]},
        "object": {"key": pdf_key.replace("=", "%3D"), "size": 1}}}]}
    for _ in range(2):
        sqs.send_message(QueueUrl=queues["OcrQueue"], MessageBody=request.model_dump_json())
        sqs.send_message(QueueUrl=queues["ExtractQueue"], MessageBody=json.dumps(s3_event))
    stack.wait_idle()
    assert stack.run_item(run_id) == run_before
    assert {b: object_versions(stack, b) for b in before} == before
    ocr_versions = stack.client("s3").list_object_versions(Bucket=stack.provisioned.environment["SILVER_BUCKET"],
                                                           Prefix=s3keys.document_ocr_key(2025, TYPED[0]))
    assert len(ocr_versions["Versions"]) == 1  # read once
    assert all(i.depth == 0 for i in stack.dlq_info()), stack.dlq_info()
