"""Parsing single PTR cell values: dates, amounts, asset text, transaction types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# The form's amount columns (low, high); high None means open-ended.
FORM_RANGES: tuple[tuple[int, int | None], ...] = (
    (1_001, 15_000),
    (15_001, 50_000),
    (50_001, 100_000),
    (100_001, 250_000),
    (250_001, 500_000),
    (500_001, 1_000_000),
    (1_000_001, 5_000_000),
    (5_000_001, 25_000_000),
    (25_000_001, 50_000_000),
    (50_000_001, None),
    (1_000_001, None),  # "Spouse/DC Over $1,000,000"
)

DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MONEY = re.compile(r"\$?\s*(\d[\d,]*(?:\.\d+)?)")
_ASSET = re.compile(
    r"^(?P<name>.*?)\s*(?:\((?P<ticker>[^()]*)\))?\s*(?:\[(?P<code>[A-Za-z0-9]{1,4})\])?\s*$", re.S
)
# Ticker-shaped: letters, digits and the separators of share classes and preferreds
# (`BRK.B`, `HEI.A`, `T$A`, `COF$I`), or a CUSIP (`91282CJP7`).
_TICKER_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-/^$]{0,11}$")
_WRAPPED_AT_HYPHEN = re.compile(r"[^\W_]-$")  # `AU-`, not a lone `-` ending `$1,001 -`
TX_TYPES = ("P", "S", "S (partial)", "E")


@dataclass(frozen=True, slots=True)
class Amount:
    low: int | float | None
    high: int | float | None
    kind: str  # "range" | "over" | "exact" | "unknown"


def join_lines(parts: list[str]) -> str:
    """A cell wrapped over lines, as one string: a word wrapped at its hyphen is joined whole."""
    out = ""
    for part in (" ".join(p.split()) for p in parts):
        if not part:
            continue
        out += part if not out or _WRAPPED_AT_HYPHEN.search(out) else " " + part
    return out


def parse_date(text: str) -> date | None:
    m = DATE_RE.match(text.strip())
    if not m:
        return None
    month, day, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _number(text: str) -> int | float:
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() else value


def parse_amount(text: str) -> Amount:
    numbers = [_number(m.group(1)) for m in _MONEY.finditer(text)]
    if not numbers:
        return Amount(None, None, "unknown")
    if "over" in text.lower():
        return Amount(int(numbers[-1]) + 1, None, "over")
    if len(numbers) >= 2:
        return Amount(numbers[0], numbers[1], "range")
    # A filer who wrote one figure reported the exact amount.
    return Amount(numbers[0], numbers[0], "exact")


def parse_tx_type(text: str) -> str | None:
    compact = " ".join(text.split())
    if not compact:
        return None
    if re.fullmatch(r"S\s*\(partial\)", compact, re.IGNORECASE):
        return "S (partial)"
    return compact.upper() if len(compact) <= 2 else compact


@dataclass(frozen=True, slots=True)
class Asset:
    name: str | None
    ticker: str | None
    asset_type: str | None


def is_ticker_token(text: str) -> bool:
    """Ticker-shaped and not a word: `(Bitcoin)`, `(Solana)`, `(ICapital)` mix cases, a symbol never
    does (filers type tickers in capitals; the all-lowercase ones of old renderings are upper-cased)."""
    mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return bool(_TICKER_TOKEN.match(text)) and not mixed


def parse_asset(text: str) -> Asset:
    m = _ASSET.match(" ".join(text.split()))
    assert m is not None  # the pattern matches any string
    name, ticker, code = m.group("name"), m.group("ticker"), m.group("code")
    if ticker is not None and not is_ticker_token(ticker.strip()):
        # A trailing parenthesis that is not ticker-shaped belongs to the name.
        name, ticker = f"{name} ({ticker})".strip(), None
    return Asset(
        name or None,
        ticker.strip().upper() if ticker else None,
        code.upper() if code else None,
    )
