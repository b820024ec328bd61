"""Silver records for the build_gold tests, shaped as extract and discover write them."""

from __future__ import annotations

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
