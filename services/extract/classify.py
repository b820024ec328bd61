"""Classify a disclosure PDF (e-filed vs scanned, PTR or not) and read its header fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from services.extract.ptr.fields import parse_date

# Marks the Clerk's e-filing generator prints on every document it renders.
_GENERATOR_MARKS = re.compile(r"Filing ID #\s*\d+|Digitally Signed:|Clerk of the House of Representatives")
_PTR_TITLE = re.compile(r"periodic\s+transaction\s+report", re.IGNORECASE)
_PLACEHOLDERS = re.compile("[\x00\ufffe]")
_MIN_TEXT_PER_PAGE = 200  # an unknown generator's text layer must be substantial to count as e-filed

_NAME = re.compile(r"^\s*Name:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"^\s*Status:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_STATE = re.compile(r"^\s*State/District:\s*([A-Za-z]{2}\s*\d{0,2})\s*$", re.IGNORECASE | re.MULTILINE)
_SIGNED = re.compile(r"Digitally Signed:\s*(.+?)\s*,\s*(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE)


def clean_text(text: str) -> str:
    """pdfium text with Unix newlines and without small-caps placeholders."""
    return _PLACEHOLDERS.sub("", text.replace("\r\n", "\n"))


def classify_rendering(page_texts: list[str], image_dominated: Callable[[], bool]) -> str:
    """'efiled' when the text layer is the Clerk's generator output, 'scanned' for paper filings.

    `image_dominated` is only called for text layers without the generator's marks (e.g. an OCR layer),
    so the common cases cost no page-object walk.
    """
    text = "\n".join(page_texts)
    if _GENERATOR_MARKS.search(text):
        return "efiled"
    chars = sum(1 for ch in text if not ch.isspace())
    if chars < _MIN_TEXT_PER_PAGE * max(1, len(page_texts)) or image_dominated():
        return "scanned"
    return "efiled"


def is_ptr(page_texts: list[str]) -> bool:
    return any(_PTR_TITLE.search(t) for t in page_texts)


def read_header(first_page: str, all_text: str) -> dict[str, str | None]:
    """Filer, status, state/district and signature date of an e-filed document (None when absent)."""
    name, status, state = _NAME.search(first_page), _STATUS.search(first_page), _STATE.search(first_page)
    signed = _SIGNED.findall(all_text)
    signature: date | None = parse_date(signed[-1][1]) if signed else None
    return {
        "filer_name": name.group(1) if name else None,
        "status": status.group(1) if status else None,
        # State codes are capitals by definition; old renderings lowercase some of them (Ca14).
        "state_district": state.group(1).replace(" ", "").upper() if state else None,
        "signature_date": signature.isoformat() if signature else None,
    }
