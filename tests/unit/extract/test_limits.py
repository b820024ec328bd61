"""A PDF over the page limit is refused before any page is loaded; real filings stay within it."""

from __future__ import annotations

import pytest
from extract_fixtures import FIXTURES, require

from infra.faults.pdfs import many_page_pdf
from services.extract import analyze
from services.extract.analyze import analyze_document
from services.extract.errors import InvalidPdf
from services.extract.limits import MAX_PAGES


def test_too_many_pages_is_refused_before_any_page_is_loaded(monkeypatch) -> None:
    loaded = []
    monkeypatch.setattr(analyze, "_open_page", lambda *a: loaded.append(a))
    with pytest.raises(InvalidPdf) as info:
        analyze_document(many_page_pdf(MAX_PAGES + 1, lines_per_page=1))
    assert info.value.reason == "too_many_pages"
    assert f"{MAX_PAGES + 1} pages (limit {MAX_PAGES})" in str(info.value)
    assert loaded == []


def test_a_document_at_the_limit_is_read_page_by_page() -> None:
    result = analyze_document(many_page_pdf(MAX_PAGES, lines_per_page=1), filing_type="C")
    assert result["pages"] == len(result["page_text"]) == MAX_PAGES
    assert "Periodic Transaction Report" in result["page_text"][-1]


def test_the_longest_real_ptr_parses_whole() -> None:
    pdf = require(FIXTURES / "house-clerk" / "mirror-2025" / "public_disc" / "ptr-pdfs" / "2025" / "20030891.pdf")
    ptr = analyze_document(pdf.read_bytes(), "20030891", filing_type="P")["ptr"]
    assert ptr["pages"] == 81 < MAX_PAGES
    assert ptr["transactions"] and str(81) in ptr["completeness"]
