"""One-pass analysis of a disclosure PDF: classify, read the header, parse PTR transactions.

Memory stays bounded by the page limit (services/extract/limits.py, checked before any page
is loaded) and by loading pages one at a time: the page and text objects of pdfium are closed
as soon as their text or layout is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from services.common.versions import PARSER_VERSION
from services.extract.classify import classify_rendering, clean_text, is_ptr, read_header
from services.extract.errors import InvalidPdf, ParseFailure
from services.extract.limits import MAX_PAGES
from services.extract.ptr.layout import PageLayout, build_layout, page_text
from services.extract.ptr.parser import parse_ptr

_PDFIUM_REASONS = {pdfium_c.FPDF_ERR_PASSWORD: "encrypted", pdfium_c.FPDF_ERR_SECURITY: "encrypted"}


def open_pdf(pdf_bytes: bytes, max_pages: int = MAX_PAGES) -> pdfium.PdfDocument:
    """Open PDF bytes or raise InvalidPdf with a machine-readable reason.

    The page count is checked here, before any page is loaded (pdfium reads only the page tree).
    """
    if not pdf_bytes:
        raise InvalidPdf("empty", "the input has zero bytes")
    if b"%PDF-" not in pdf_bytes[:1024]:
        start = pdf_bytes[:15].decode("latin-1", "replace")
        raise InvalidPdf("not_pdf", f"no %PDF- header (starts with {start!r}); an HTML error page?")
    if b"%%EOF" not in pdf_bytes[-1024:]:
        raise InvalidPdf("truncated", f"no %%EOF marker at the end of {len(pdf_bytes)} bytes")
    try:
        pdf = pdfium.PdfDocument(pdf_bytes)
    except pdfium.PdfiumError as exc:
        reason = _PDFIUM_REASONS.get(getattr(exc, "err_code", None), "malformed")
        raise InvalidPdf(reason, str(exc)) from exc
    pages = len(pdf)
    if pages == 0:
        pdf.close()
        raise InvalidPdf("malformed", "the document has no pages")
    if pages > max_pages:
        pdf.close()
        raise InvalidPdf("too_many_pages", f"the document has {pages} pages (limit {max_pages})")
    return pdf


def _load_page(pdf: pdfium.PdfDocument, index: int) -> tuple[Any, Any]:
    try:
        page = pdf[index]
        return page, page.get_textpage()
    except pdfium.PdfiumError as exc:
        raise InvalidPdf("malformed", f"page {index + 1} cannot be read: {exc}") from exc


@contextmanager
def _open_page(pdf: pdfium.PdfDocument, index: int) -> Iterator[tuple[Any, Any]]:
    """One page and its text page, closed on exit so pdfium frees them before the next page."""
    page, textpage = _load_page(pdf, index)
    try:
        yield page, textpage
    finally:
        textpage.close()
        page.close()


def _page_texts(pdf: pdfium.PdfDocument) -> list[str]:
    """The clean text of every page, one page loaded at a time."""
    texts = []
    for i in range(len(pdf)):
        with _open_page(pdf, i) as (_, textpage):
            texts.append(clean_text(page_text(textpage)))
    return texts


def _image_dominated(pdf: pdfium.PdfDocument) -> bool:
    """Some page is mostly covered by one image: a scan, even with an OCR text layer."""
    for i in range(len(pdf)):
        with _open_page(pdf, i) as (page, _):
            width, height = page.get_size()
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
                x0, y0, x1, y1 = obj.get_bounds()
                if (x1 - x0) * (y1 - y0) >= 0.5 * width * height:
                    return True
    return False


def _layout(pdf: pdfium.PdfDocument, index: int) -> PageLayout:
    """One page laid out. Its text page is released at once; the page itself stays open until
    the document closes, because the layout reads drawn checkboxes from it only when asked."""
    page, textpage = _load_page(pdf, index)
    try:
        return build_layout(index + 1, page, textpage, page_text(textpage))
    finally:
        textpage.close()


def _ptr_result(
    pdf: pdfium.PdfDocument,
    first: PageLayout | None,
    doc_id: str | None,
    rendering: str,
    header: dict[str, str | None],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "doc_id": doc_id,
        "filer_name": header["filer_name"],
        "status": header["status"],
        "state_district": header["state_district"],
        "pages": len(pdf),
        "rendering": rendering,
        "transactions": [],
        "signature_date": header["signature_date"],
        "warnings": [],
        "parser_version": PARSER_VERSION,
    }
    if rendering == "scanned":
        result["warnings"].append("scanned filing: no text layer; its transactions are read by the OCR stage")
        return result
    assert first is not None  # laid out for the header of every e-filed document
    layouts = [first] + [_layout(pdf, i) for i in range(1, len(pdf))]
    parsed = parse_ptr(layouts)
    _fail_on_empty(parsed, doc_id)
    result["transactions"] = parsed["transactions"]
    result["warnings"] = parsed["warnings"]
    result["completeness"] = {
        str(page): {"anchors": len(a), "rows": sum(1 for _, used in a if used)}
        for page, a in parsed["anchors"].items()
    }
    result["case_repaired_chars"] = sum(layout.repaired for layout in layouts)
    return result


def _fail_on_empty(parsed: dict[str, Any], doc_id: str | None) -> None:
    if not parsed["header_found"]:
        raise ParseFailure("no_table", f"{doc_id or 'document'}: no PTR transaction table header found")
    if not parsed["transactions"]:
        anchors = sum(len(a) for a in parsed["anchors"].values())
        raise ParseFailure("no_rows", f"{doc_id or 'document'}: {anchors} row anchors but no row parsed")


def analyze_document(pdf_bytes: bytes, doc_id: str | None = None, filing_type: str | None = None) -> dict:
    """Classify, read the header and (for PTRs) parse the transactions, opening the PDF once.

    Raises InvalidPdf for unreadable input (`too_many_pages` over the page limit) and
    ParseFailure when an e-filed PTR yields no rows.
    """
    pdf = open_pdf(pdf_bytes)
    try:
        texts = _page_texts(pdf)
        rendering = classify_rendering(texts, lambda: _image_dominated(pdf))
        first = _layout(pdf, 0) if rendering == "efiled" else None
        header = read_header(_repaired_text(first), "\n".join(texts)) if first else _empty_header()
        wants_ptr = filing_type == "P" if filing_type else (rendering == "efiled" and is_ptr(texts))
        ptr = _ptr_result(pdf, first, doc_id, rendering, header) if wants_ptr else None
    finally:
        pdf.close()
    return {
        "doc_id": doc_id,
        "rendering": rendering,
        "pages": len(texts),
        "page_text": texts,
        "header": header,
        "ptr": ptr,
        "warnings": list(ptr["warnings"]) if ptr else [],
        "parser_version": PARSER_VERSION,
    }


def _repaired_text(layout: PageLayout) -> str:
    """Page text from the layout, whose letters were case-repaired from glyph geometry."""
    return clean_text("\n".join(line.text for line in layout.lines))


def _empty_header() -> dict[str, str | None]:
    return {"filer_name": None, "status": None, "state_district": None, "signature_date": None}
