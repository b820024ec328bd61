"""Bad and hostile input ends in a specific failure_reason, never a crash or a huge render."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

from services.ocr.reader import MAX_PAGES, read_scanned_ptr


def _pdf(pages: int, width: float = 612, height: float = 792) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width, height)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def test_too_many_pages_is_refused_before_rendering() -> None:
    result = read_scanned_ptr(_pdf(MAX_PAGES + 1), "big")
    assert result.failure_reason == "too_many_pages"
    assert result.transactions == []
    assert result.pages == MAX_PAGES + 1
    assert MAX_PAGES > 81  # the longest real PTR


def test_page_too_large() -> None:
    result = read_scanned_ptr(_pdf(1, 14_000, 14_000), "huge")
    assert result.failure_reason == "page_too_large"
    assert "pixels" in (result.failure_message or "")


def test_not_a_pdf() -> None:
    result = read_scanned_ptr(b"%PDF-1.4 truncated", "broken")
    assert result.failure_reason == "unreadable"
    assert result.pages == 0


def test_blank_pages_are_not_a_ptr() -> None:
    result = read_scanned_ptr(_pdf(2), "blank")
    assert result.failure_reason == "not_ptr"
    assert [p.kind for p in result.page_info] == ["blank", "blank"]
    assert result.transactions == []

