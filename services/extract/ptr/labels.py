"""Recognising the form's printed labels in every rendering.

Labels come out as plain capitals (`FILING STATUS`), mixed case from the lowercase-glyph bug
(`FIlINg STaTuS`), or small caps whose lowercase letters are lost (`F\ufffe\ufffe\ufffe\ufffe\ufffe S...`),
in which case only the initials of each word survive.
"""

from __future__ import annotations

import re

from services.extract.ptr.layout import PLACEHOLDERS

# Detail lines under a transaction row: label -> output field.
DETAIL_LABELS = {
    "FILING STATUS": "filing_status",
    "SUBHOLDING OF": "subholding_of",
    "DESCRIPTION": "description",
    "COMMENTS": "comments",
    "LOCATION": "location",
}

# Section titles that end the transaction table.
SECTION_TITLES = (
    "ASSET CLASS DETAILS",
    "INVESTMENT VEHICLE DETAILS",
    "INITIAL PUBLIC OFFERINGS",
    "CERTIFICATION AND SIGNATURE",
)

_PH = re.compile(f"[{PLACEHOLDERS}]")
_SPACES = re.compile(r"\s+")
_FILING_ID = re.compile(r"^Filing ID #\s*\d+$", re.IGNORECASE)


def _initials(label: str) -> str:
    return " ".join(w[0] for w in label.split())


def normalise(text: str) -> tuple[str, bool]:
    """Upper-cased text without placeholders, and whether placeholders were present."""
    stripped = _PH.sub("", text)
    return _SPACES.sub(" ", stripped).strip().upper(), stripped != text


def match_detail_label(line_text: str) -> tuple[str, str] | None:
    """(field, value) when the line starts with a detail label such as `FILING STATUS: New`."""
    head, sep, value = line_text.partition(":")
    if not sep or len(head) > 30:
        return None
    norm, had_placeholders = normalise(head)
    for label, field in DETAIL_LABELS.items():
        if norm == label or (had_placeholders and norm == _initials(label)):
            return field, value.strip()
    return None


def is_section_title(line_text: str) -> bool:
    norm, had_placeholders = normalise(line_text)
    if norm.startswith("* FOR THE COMPLETE LIST"):
        return True
    for title in SECTION_TITLES:
        if norm == title or (had_placeholders and norm == _initials(title)):
            return True
    # Any other small-caps title: single initials only, e.g. "A C D".
    return had_placeholders and bool(re.fullmatch(r"[A-Z](?: [A-Z])*", norm)) and ":" not in line_text


def is_filing_id(line_text: str) -> bool:
    return bool(_FILING_ID.match(line_text.strip()))
