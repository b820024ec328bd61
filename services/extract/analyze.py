"""One-pass analysis of a disclosure PDF: classify, read the header, parse PTR transactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from services.extract.classify import classify_rendering, clean_text, is_ptr, read_header
from services.extract.errors import InvalidPdf, ParseFailure
from services.extract.ptr.layout import PageLayout, build_layout, page_text
from services.extract.ptr.parser import parse_ptr
from services.extract.version import PARSER_VERSION

_PDFIUM_REASONS = {pdfium_c.FPDF_ERR_PASSWORD: "encrypted", pdfium_c.FPDF_ERR_SECURITY: "encrypted"}


@dataclass
class _Page:
    page: Any
    textpage: Any
    text: str


def open_pdf(pdf_bytes: bytes) -> pdfium.PdfDocument:
    """Open PDF bytes or raise InvalidPdf with a machine-readable reason."""
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
    if len(pdf) == 0:
        pdf.close()
        raise InvalidPdf("malformed", "the document has no pages")
    return pdf


def _load_pages(pdf: pdfium.PdfDocument) -> list[_Page]:
    pages = []
    for i in range(len(pdf)):
        try:
            page = pdf[i]
            textpage = page.get_textpage()
        except pdfium.PdfiumError as exc:
            raise InvalidPdf("malformed", f"page {i + 1} cannot be read: {exc}") from exc
        pages.append(_Page(page, textpage, page_text(textpage)))
    return pages


def _image_dominated(pages: list[_Page]) -> bool:
    """Some page is mostly covered by one image: a scan, even with an OCR text layer."""
    for p in pages:
        width, height = p.page.get_size()
        for obj in p.page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
            x0, y0, x1, y1 = obj.get_bounds()
            if (x1 - x0) * (y1 - y0) >= 0.5 * width * height:
                return True
    return False


def _ptr_result(
    pages: list[_Page],
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
        "pages": len(pages),
        "rendering": rendering,
        "transactions": [],
        "signature_date": header["signature_date"],
        "warnings": [],
        "parser_version": PARSER_VERSION,
    }
    if rendering == "scanned":
        result["warnings"].append("scanned filing: transactions need OCR, which is not available")
        return result
    assert first is not None  # laid out for the header of every e-filed document
    layouts = [first] + [build_layout(i + 1, p.page, p.textpage, p.text) for i, p in enumerate(pages) if i]
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

    Raises InvalidPdf for unreadable input and ParseFailure when an e-filed PTR yields no rows.
    """
    pdf = open_pdf(pdf_bytes)
    try:
        pages = _load_pages(pdf)
        texts = [clean_text(p.text) for p in pages]
        rendering = classify_rendering(texts, lambda: _image_dominated(pages))
        first = (
            build_layout(1, pages[0].page, pages[0].textpage, pages[0].text)
            if rendering == "efiled"
            else None
        )
        header = read_header(_repaired_text(first), "\n".join(texts)) if first else _empty_header()
        wants_ptr = filing_type == "P" if filing_type else (rendering == "efiled" and is_ptr(texts))
        ptr = _ptr_result(pages, first, doc_id, rendering, header) if wants_ptr else None
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
