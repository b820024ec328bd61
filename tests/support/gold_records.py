"""Silver records for the build_gold tests, shaped as extract and discover write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.build_gold.compact import SilverObject
from services.common import keys


def document_record(
    doc_id: str,
    *,
    year: int = 2025,
    filing_type: str = "P",
    filing_date: str | None = "2025-01-20",
    status: str = "extracted",
    rendering: str | None = "efiled",
    ptr: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A silver per-document record as extract writes it."""
    return {
        "doc_id": doc_id,
        "year": year,
        "filing_type": filing_type,
        "filing_date": filing_date,
        "source_url": f"https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/{year}/{doc_id}.pdf",
        "bronze_key": f"house-fd/pdf/year={year}/type={filing_type}/doc_id={doc_id}/sha256={'0' * 64}.pdf",
        "sha256": "0" * 64,
        "run_id": "run-test",
        "extraction_status": status,
        "failure_reason": None if status == "extracted" else "test",
        "rendering": rendering,
        "pages": ptr.get("pages") if ptr else 1,
        "header": header,
        "ptr": ptr,
        "warnings": [],
        "parser_version": "test-1",
        "extracted_at": "2025-11-26T08:00:00+00:00",
    }


def golden_record(golden_ptr: dict[str, Any], filing_date: str | None) -> dict[str, Any]:
    """A silver record carrying a golden PTR's rows (plus the page and confidence extract adds)."""
    ptr = {k: v for k, v in golden_ptr.items() if k != "notes"}
    ptr["transactions"] = [{**row, "page": 1, "confidence": 0.99} for row in golden_ptr["transactions"]]
    header = {
        "filer_name": golden_ptr["filer_name"],
        "status": golden_ptr["status"],
        "state_district": golden_ptr["state_district"],
        "signature_date": None,
    }
    return document_record(golden_ptr["doc_id"], filing_date=filing_date, ptr=ptr, header=header)


def row(n: int, **fields: Any) -> dict[str, Any]:
    """A golden-shaped transaction row with sane defaults."""
    base = {
        "row": n,
        "owner": None,
        "asset_name": "Apple Inc. - Common Stock",
        "ticker": "AAPL",
        "asset_type": "ST",
        "transaction_type": "P",
        "transaction_date": "2025-01-02",
        "notification_date": "2025-01-03",
        "amount_low": 1001,
        "amount_high": 15000,
        "cap_gains_over_200": None,
        "filing_status": "New",
        "description": None,
        "subholding_of": None,
        "location": None,
        "comments": None,
        "page": 1,
        "confidence": 0.9,
    }
    return base | fields


def silver_objects(records: list[dict[str, Any]], year: int = 2025) -> list[SilverObject]:
    return [SilverObject(keys.document_key(year, r["doc_id"]), r) for r in records]


def index_filings(index_zip: bytes, year: int = 2025) -> list[dict[str, Any]]:
    """A year's index rows exactly as discover writes them to the silver filings snapshot."""
    from services.discover.index import parse_index_zip

    return [row.as_record() for row in parse_index_zip(index_zip, year).rows]


MIRROR_404S = frozenset({"20033421", "20033446", "10072224"})


def mirror_records(golden: dict[str, dict[str, Any]], filings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mirror's silver document records: golden PTRs, other documents extracted, 404s absent."""
    dates = {r["doc_id"]: r["filing_date"] for r in filings}
    records = []
    for filing in sorted(filings, key=lambda r: r["doc_id"]):
        doc_id = filing["doc_id"]
        if doc_id in MIRROR_404S:
            continue
        if doc_id in golden:
            records.append(golden_record(golden[doc_id], dates[doc_id]))
            continue
        scanned = len(doc_id) == 7
        records.append(document_record(
            doc_id, filing_type=filing["filing_type"], filing_date=dates[doc_id],
            status="needs_ocr" if scanned else "extracted", rendering="scanned" if scanned else "efiled",
        ))  # fmt: skip
    return records


def real_records(mirror_2025: Path, doc_ids: list[str], index: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Silver records of real mirror-2025 filings, parsed by the real extractor (PTRs and others)."""
    from services.extract.extract import analyze

    by_id = {r["doc_id"]: r for r in index}
    records = []
    for doc_id in doc_ids:
        entry = by_id[doc_id]
        folder = "ptr-pdfs" if entry["filing_type"] == "P" else "financial-pdfs"
        body = (mirror_2025 / "public_disc" / folder / "2025" / f"{doc_id}.pdf").read_bytes()
        record, _ = analyze(body, keys.PdfKey(2025, entry["filing_type"], doc_id, "0" * 64))
        record.pop("failure_message", None)
        base = document_record(doc_id, filing_type=entry["filing_type"], filing_date=entry["filing_date"])
        records.append(base | record)
    return records


def real_year_record(filing: dict[str, Any], path: Path) -> dict[str, Any]:
    """The silver record extract writes for one real PDF (provenance plus the real parser's analysis)."""
    import hashlib

    from services.common.versions import PARSER_VERSION
    from services.extract.extract import analyze

    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    pdf = keys.PdfKey(2025, filing["filing_type"], filing["doc_id"], digest)
    analysis, _ = analyze(body, pdf)
    return {
        "doc_id": pdf.doc_id,
        "year": 2025,
        "filing_type": pdf.filing_type,
        "filing_date": filing["filing_date"],
        "source_url": f"https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/{pdf.doc_id}.pdf",
        "bronze_key": keys.pdf_key(2025, pdf.filing_type, pdf.doc_id, digest),
        "sha256": digest,
        "run_id": "run-real-year",
        "parser_version": PARSER_VERSION,
        "extracted_at": "2025-12-01T08:00:00+00:00",
        **analysis,
    }
