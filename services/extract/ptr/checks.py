"""Row confidence from checks that can fail, and the document completeness check."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from services.extract.ptr.fields import FORM_RANGES, TX_TYPES

# A symbol with an optional class or preferred series (`BRK.B`, `COF$I`).
_TICKER_SHAPE = re.compile(r"^[A-Z][A-Z0-9]{0,5}(?:[.\-/$][A-Z0-9]{1,3})?$")
_CUSIP = re.compile(r"^[0-9]{3}[0-9A-Z]{5}[0-9]$")
_ASSET_TYPE_SHAPE = re.compile(r"^[A-Z]{2}$")


def check_amount(row: dict[str, Any]) -> bool:
    """The amount is one of the form's ranges, or an exact figure the filer wrote (low == high)."""
    low, high = row.get("amount_low"), row.get("amount_high")
    if low is None:
        return False
    if (low, high) in FORM_RANGES:
        return True
    return high == low and low > 0


def check_dates(row: dict[str, Any]) -> bool:
    """Both dates parsed and the notification is not before the transaction."""
    tx, note = row.get("transaction_date"), row.get("notification_date")
    if not tx or not note:
        return False
    try:
        return date.fromisoformat(note) >= date.fromisoformat(tx)
    except ValueError:
        return False


def is_cusip(text: str) -> bool:
    """Nine characters whose last is the CUSIP check digit: filers of bonds print it as the symbol."""
    if not _CUSIP.match(text):
        return False
    total = 0
    for i, ch in enumerate(text[:8]):
        value = int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
        value *= 2 if i % 2 else 1
        total += value // 10 + value % 10
    return (10 - total % 10) % 10 == int(text[8])


def check_ticker(row: dict[str, Any]) -> bool:
    ticker = row.get("ticker")
    return ticker is None or bool(_TICKER_SHAPE.match(ticker)) or is_cusip(ticker)


def check_asset_type(row: dict[str, Any]) -> bool:
    code = row.get("asset_type")
    return code is None or bool(_ASSET_TYPE_SHAPE.match(code))


def check_transaction_type(row: dict[str, Any]) -> bool:
    return row.get("transaction_type") in TX_TYPES


def check_asset_name(row: dict[str, Any]) -> bool:
    return bool(row.get("asset_name"))


def check_lines_consumed(row: dict[str, Any]) -> bool:
    """Every word of the row's table lines went into a field."""
    return not row.get("unconsumed")


CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "amount": check_amount,
    "dates": check_dates,
    "ticker_shape": check_ticker,
    "asset_type_shape": check_asset_type,
    "transaction_type": check_transaction_type,
    "asset_name": check_asset_name,
    "lines_consumed": check_lines_consumed,
}


def score_row(row: dict[str, Any]) -> tuple[float, list[str]]:
    """Confidence in [0, 1] (share of checks passed) and the names of the failed checks."""
    failed = [name for name, check in CHECKS.items() if not check(row)]
    return round(1 - len(failed) / len(CHECKS), 3), failed


def completeness(anchors_by_page: dict[int, list[tuple[str, bool]]]) -> list[str]:
    """One warning per page where a row anchor (a date under "Date") did not start a row."""
    warnings = []
    for page, anchors in sorted(anchors_by_page.items()):
        missed = [label for label, consumed in anchors if not consumed]
        if missed:
            found = len(anchors) - len(missed)
            warnings.append(
                f"page {page}: {len(anchors)} row anchors but {found} rows; not consumed: {', '.join(missed)}"
            )
    return warnings
