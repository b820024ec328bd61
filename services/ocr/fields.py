"""Cell text to field values, tolerant of the OCR confusions these scans produce."""

from __future__ import annotations

import re
from datetime import date

_DATE = re.compile(r"(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{2,4})")
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "i": "1", "S": "5",
                              "s": "5", "B": "8", "Z": "2", "z": "2", "g": "9", "q": "9", "§": "5", "$": "5", "n": "0", "N": "0"})
OWNER_CODES = ("JT", "SP", "DC")
_OWNER_FIXES = {"5P": "SP", "SF": "SP", "JI": "JT", "J7": "JT", "0C": "DC", "OC": "DC", "DG": "DC", "BC": "DC", "D": "DC"}
_SEE_ATTACHED = re.compile(r"\bsee\b.{0,12}\battach", re.IGNORECASE)
# The form's printed example row and its column-heading row ("Provide full name, not ticker symbol").
_EXAMPLE = re.compile(r"\bexample\b|mega\s*corp|provide\s+full|ticker\s+symbol|MM\W?DD", re.IGNORECASE)


def parse_ocr_date(text: str) -> date | None:
    """A date written m/d/yy, m/d/yyyy or mm-dd-yyyy, after fixing letters read for digits."""
    fixed = text.strip().translate(_DIGIT_FIXES)
    m = _DATE.search(fixed)
    if m:
        month, day, year = (int(g) for g in m.groups())
    else:
        # Separators lost in the scan: mmddyy or mmddyyyy.
        digits = re.sub(r"\D", "", fixed)
        if len(digits) not in (6, 8):
            return None
        month, day, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if year < 100:
        year += 2000
    if not 1900 <= year <= 2999:
        return None  # a plausible year is checked against the page's usual year by the reader
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_owner(text: str) -> tuple[str | None, bool]:
    """(owner code or None for the filer, whether the cell was understood)."""
    compact = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    if not compact:
        return None, True
    compact = _OWNER_FIXES.get(compact, compact)
    return (compact, True) if compact in OWNER_CODES else (None, False)


def split_owner(asset_cell: str) -> tuple[str, str]:
    """(owner text, asset text) of a cell holding both: a table whose rule between the owner and
    the asset columns was not found. The first word is the owner's when it reads as a code, or
    as a lower-case pair no asset name starts with (a code misread: the row goes to review)."""
    first, _, rest = asset_cell.strip().partition(" ")
    token = re.sub(r"[^A-Za-z0-9]", "", first)
    code = token.upper()
    if rest.strip() and (code in OWNER_CODES or code in _OWNER_FIXES or (len(token) == 2 and token.islower())):
        return first, rest.strip()
    return "", asset_cell


def clean_asset(text: str) -> str:
    """The cell's words without the specks of rules and underlines read at its edges."""
    text = re.sub(r"\s+", " ", text).strip()
    text = text.lstrip("\\|/_-—.,:;'\"‘’“”! ")
    if text.startswith("(") and ")" not in text:
        text = text[1:]
    return text.rstrip("\\|/_-—,:;'\"‘’“”! ")


def split_ticker(name: str) -> tuple[str, str | None]:
    """A ticker typed as the last word of a mixed-case name ('... Avantis Intl AVDV')."""
    parts = name.rsplit(" ", 1)
    if len(parts) == 2 and re.fullmatch(r"[A-Z]{3,5}", parts[1]):
        rest = parts[0]
        if any(c.islower() for c in rest) and len(rest.split()) >= 2:
            return rest, parts[1]
    m = re.fullmatch(r"(.*?)\s*\(([A-Z][A-Z.]{0,5})\)", name)
    if m:
        return m.group(1), m.group(2)
    return name, None


def says_see_attached(text: str) -> bool:
    return bool(_SEE_ATTACHED.search(text))


def is_example(text: str) -> bool:
    return bool(_EXAMPLE.search(text))
