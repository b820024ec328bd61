"""Every real PDF: classified right, no crash, completeness holds or is reported.

Spot checks were verified against the rendered pages (pypdfium2 render, viewed by eye).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from extract_fixtures import CORPUS, MIRROR, analysis, pdf_files, require

EFILED_PTRS = pdf_files(CORPUS / "efiled") + pdf_files(MIRROR / "ptr-pdfs")
ALL_PDFS = pdf_files(CORPUS) + pdf_files(MIRROR)


def expected_rendering(path: Path) -> str:
    if path.parent.name in ("efiled", "scanned"):
        return path.parent.name
    # Mirror: paper filings have 7-digit DocIDs starting with 8 or 9 (checked against the files).
    return "scanned" if re.fullmatch(r"[89]\d{6}", path.stem) else "efiled"


@pytest.mark.parametrize("path", ALL_PDFS, ids=lambda p: p.stem)
def test_classification(path: Path) -> None:
    result = analysis(path)
    assert result["rendering"] == expected_rendering(path)
    assert result["pages"] == len(result["page_text"]) > 0


def test_corpus_sizes() -> None:
    require(CORPUS)
    assert len(pdf_files(CORPUS / "efiled")) == 38
    assert len(pdf_files(CORPUS / "scanned")) == 16


@pytest.mark.parametrize("path", EFILED_PTRS, ids=lambda p: p.stem)
def test_efiled_ptr_complete_or_warned(path: Path) -> None:
    ptr = analysis(path)["ptr"]
    assert ptr is not None and ptr["transactions"]
    for page, counts in ptr["completeness"].items():
        if counts["rows"] != counts["anchors"]:
            assert any(w.startswith(f"page {page}:") for w in ptr["warnings"])
    for row in ptr["transactions"]:
        assert row["transaction_date"] and row["notification_date"], row
        assert row["amount_low"] is not None, row


@pytest.mark.parametrize("path", pdf_files(CORPUS / "scanned"), ids=lambda p: p.stem)
def test_scanned_ptr_has_no_rows_yet(path: Path) -> None:
    result = analyze_ptr(path)
    assert result["rendering"] == "scanned" and result["transactions"] == []


def analyze_ptr(path: Path) -> dict:
    from services.extract.analyze import analyze_document

    return analyze_document(path.read_bytes(), path.stem, filing_type="P")["ptr"]


def test_non_ptr_header_metadata() -> None:
    path = require(MIRROR / "financial-pdfs" / "2025" / "40004775.pdf")
    result = analysis(path)
    assert result["ptr"] is None
    assert result["header"] == {
        "filer_name": "Hon. Michael Waltz",
        "status": "Former Member",
        "state_district": "FL06",
        "signature_date": "2025-05-13",
    }


def _rows(doc_id: str) -> list[dict]:
    return analysis(require(CORPUS / "efiled" / f"{doc_id}.pdf"))["ptr"]["transactions"]


def test_2017_lowercase_rendering_repaired() -> None:
    ptr = analysis(require(CORPUS / "efiled" / "20007546.pdf"))["ptr"]
    assert ptr["state_district"] == "OH10"
    first, second = ptr["transactions"]
    assert first["asset_name"] == "Ohio St. Cap Facs Lease Appropriations Pks Mar16 5% Feb 01 2022"
    assert first["transaction_date"] == "2017-06-02"  # printed unpadded: 06/2/2017
    assert first["subholding_of"] == "Spouse Brokerage 4-0176 Muni Account"
    assert first["cap_gains_over_200"] is None  # the 2017 form has no such column
    assert second["transaction_type"] == "P" and second["transaction_date"] == "2017-06-07"


def test_2017_ticker_upper_cased() -> None:
    (row,) = _rows("20006851")
    assert (row["asset_name"], row["ticker"], row["owner"]) == ("Cheniere Energy, Inc.", "LNG", "SP")
    assert (row["amount_low"], row["amount_high"]) == (500001, 1000000)


def test_real_lowercase_is_kept() -> None:
    (row,) = _rows("20008623")
    assert (row["asset_name"], row["ticker"]) == ("Schwab U.S. TIPs ETF", "SCHP")


def test_2019_glyph_checkboxes_and_page_break() -> None:
    rows = _rows("20011886")
    by_page = [r for r in rows if r["page"] == 2]
    assert [r["ticker"] for r in by_page[:4]] == ["BABA", "GOOGL", "GOOG", "AMZN"]
    assert [r["cap_gains_over_200"] for r in by_page[:4]] == [False, False, False, True]
    assert by_page[0]["asset_name"] == (
        "Alibaba Group Holding Limited American Depositary Shares each representing one Ordinary share"
    )
    # The last row of page 2 gets its filing status from the top of page 3.
    assert all(r["filing_status"] == "New" for r in rows)


def test_exact_amount() -> None:
    (row,) = _rows("20016170")
    assert (row["amount_low"], row["amount_high"], row["cap_gains_over_200"]) == (770.32, 770.32, True)


def test_2022_drawn_checkbox_ticked() -> None:
    (row,) = _rows("20021099")
    assert row["cap_gains_over_200"] is True
    assert row["subholding_of"] == "Brokerage 90126"


def test_notification_before_transaction_lowers_confidence() -> None:
    row = _rows("20025719")[93]
    assert row["ticker"] == "MCHP" and row["checks_failed"] == ["dates"] and row["confidence"] < 1
