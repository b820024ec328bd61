"""The S3 documents that cross stages are parsed once into typed models; the pointer has one reader."""

from __future__ import annotations

import json

import pytest

from services.common import keys
from services.common.documents import (
    MANIFEST_FORMAT,
    GoldManifest,
    SiteMeta,
    read_manifest,
    read_pointer,
    read_site_meta,
)


@pytest.fixture
def s3(moto_aws):
    from services.common import aws

    client = aws.client("s3")
    for bucket in ("gold", "site"):
        client.create_bucket(Bucket=bucket)
    return client


def test_a_manifest_written_before_the_format_version_reads_as_format_1_without_digests():
    legacy = GoldManifest.model_validate({"version": "v1", "status": "published", "years": [2025],
                                          "tables": {"fact_transactions": ["k"]}})  # fmt: skip
    assert (legacy.format_version, legacy.filings_digests) == (1, None)
    assert legacy.tables == {"fact_transactions": ["k"]} and legacy.row_counts == {}


def test_a_field_a_newer_writer_added_does_not_break_a_reader():
    newer = GoldManifest.model_validate({"version": "v9", "format_version": 9, "something_new": {"a": 1}})
    assert newer.version == "v9" and "something_new" not in newer.to_json()


def test_a_manifest_missing_its_version_is_refused():
    with pytest.raises(ValueError, match="version"):
        GoldManifest.model_validate({"status": "published"})


def test_the_pointer_reader_types_what_build_gold_wrote(s3):
    assert read_pointer(s3, "gold") is None
    manifest = GoldManifest(format_version=MANIFEST_FORMAT, version="20261202T000000Z-abc", years=[2025],
                            row_counts={"fact_transactions": 3}, filings_digests={"2025": "d"}, gold_bucket="gold")  # fmt: skip
    s3.put_object(Bucket="gold", Key=keys.GOLD_POINTER_KEY, Body=json.dumps(manifest.to_json()).encode())
    s3.put_object(Bucket="gold", Key=keys.gold_manifest_key(manifest.version), Body=json.dumps(manifest.to_json()).encode())
    pointer = read_pointer(s3, "gold")
    assert pointer is not None and pointer.manifest == manifest and pointer.version == manifest.version
    assert pointer.etag.strip('"')
    assert read_manifest(s3, "gold", manifest.version) == manifest
    assert read_manifest(s3, "gold", "gone") is None


def test_site_meta_round_trips_and_is_none_before_the_first_publish(s3):
    assert read_site_meta(s3, "site") is None
    meta = SiteMeta(gold_version="v1", answers_prefix=keys.answers_prefix("v1"), objects=3)
    s3.put_object(Bucket="site", Key=keys.SITE_META_KEY, Body=json.dumps(meta.model_dump(mode="json")).encode())
    assert read_site_meta(s3, "site") == meta


def test_a_meta_that_is_not_one_reads_as_none(s3):
    """Before typed documents, a broken meta fell back to the pointer; it still does."""
    for body in (b"{not json", b'{"answers_prefix": "api/v1/versions/x/"}', b"[]"):
        s3.put_object(Bucket="site", Key=keys.SITE_META_KEY, Body=body)
        assert read_site_meta(s3, "site") is None


def test_a_silver_document_is_read_strictly_and_names_the_field_that_does_not_fit():
    from pydantic import ValidationError

    from services.build_gold.compact import RecordError, SilverObject, parse_document
    from services.common.documents import SilverDocument

    record = {"doc_id": "20026590", "extraction_status": "extracted", "extracted_at": "2025-03-01T10:00:00",
              "header": {"filer_name": "  Hon. Jane Doe "}, "warnings": ["", "x"],
              "ptr": {"transactions": [{"row": 1, "amount_low": 1001, "source": None, "ticker": " "}]}}
    document = SilverDocument.model_validate(record)
    assert document.extracted_at is not None and document.extracted_at.tzinfo is not None  # naive: UTC
    assert document.header and document.header.filer_name == "Hon. Jane Doe" and document.warnings == ["x"]
    [row] = document.ptr.transactions if document.ptr else []
    assert (row.amount_low, row.source, row.ticker) == (1001.0, "efiled", None)
    key = "house-fd/documents/year=2025/doc_id=20026590/document.json"
    for field, value, says in (("row", "1", "ptr.transactions.0.row"), ("cap_gains_over_200", 1, "cap_gains"),
                               ("confidence", 1.5, "ptr.transactions.0.confidence")):
        bad = {**record, "ptr": {"transactions": [{"row": 1, field: value}]}}
        with pytest.raises(ValidationError):
            SilverDocument.model_validate(bad)
        with pytest.raises(RecordError, match=says):
            parse_document(SilverObject(key, bad), 2025)
    with pytest.raises(RecordError, match="extraction_status"):
        parse_document(SilverObject(key, {**record, "extraction_status": "done"}), 2025)
    with pytest.raises(RecordError, match="does not match its key"):
        parse_document(SilverObject(key.replace("20026590", "1"), record), 2025)


def test_a_filings_snapshot_keeps_the_latest_filing_of_a_repeated_doc_id():
    from services.build_gold.compact import compact_filings

    snapshot = {"filings": [{"doc_id": "1", "filing_date": "2025-01-02", "last": "A"},
                            {"doc_id": "1", "filing_date": "2025-02-02", "last": "B"},
                            {"doc_id": "2", "year": 2024, "filing_date": ""}]}
    table, failures = compact_filings(snapshot, 2025, "k")
    assert failures == [] and table.column("last").to_pylist() == ["B", None]
    assert table.column("year").to_pylist() == [2025, 2024]
    _, failures = compact_filings({"filings": [{"doc_id": 1}]}, 2025, "k")
    assert [f.reason for f in failures] == ["filings.0.doc_id: Input should be a valid string"]


def test_pdf_metadata_round_trips_through_s3s_ascii_only_metadata():
    from services.common.documents import PdfMetadata

    written = PdfMetadata(run_id="r1", doc_id="20026590", filing_type="P", filing_date=None,
                          filer_name="Hon. Nydia M. Velázquez", source_url="u", trace=None).to_s3()
    assert all(value.isascii() for value in written.values())
    assert written["filing-date"] == written["trace"] == "" and written["filer-name"] == "Hon.%20Nydia%20M.%20Vel%C3%A1zquez"
    read = PdfMetadata.from_s3(written)
    assert (read.filer_name, read.filing_date, read.trace, read.run_id) == ("Hon. Nydia M. Velázquez", None, None, "r1")
    assert PdfMetadata.from_s3({}).run_id is None  # a PDF put there by hand: no run
