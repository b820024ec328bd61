"""Unit tests: cell parsers, labels, confidence checks, and the parser on a synthetic layout."""

from __future__ import annotations

from typing import Any

import pytest

from services.extract.analyze import _fail_on_empty
from services.extract.errors import ParseFailure
from services.extract.ptr import checks
from services.extract.ptr.fields import join_lines, parse_amount, parse_asset, parse_date, parse_tx_type
from services.extract.ptr.labels import is_section_title, match_detail_label
from services.extract.ptr.layout import Line, PageLayout, Word
from services.extract.ptr.parser import parse_ptr

GOOD_ROW: dict[str, Any] = {
    "asset_name": "Apple Inc.",
    "ticker": "AAPL",
    "asset_type": "ST",
    "transaction_type": "S (partial)",
    "transaction_date": "2024-12-31",
    "notification_date": "2024-12-31",
    "amount_low": 5000001,
    "amount_high": 25000000,
    "unconsumed": [],
}


def test_good_row_passes_every_check() -> None:
    assert checks.score_row(GOOD_ROW) == (1.0, [])


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"amount_low": 5001, "amount_high": 25000}, "amount"),
        ({"amount_low": None}, "amount"),
        ({"notification_date": "2024-12-30"}, "dates"),
        ({"transaction_date": None}, "dates"),
        ({"ticker": "aapl"}, "ticker_shape"),
        ({"ticker": "TOO LONG"}, "ticker_shape"),
        ({"ticker": "91282CJP8"}, "ticker_shape"),  # a CUSIP with a wrong check digit
        ({"asset_type": "[ST"}, "asset_type_shape"),
        ({"transaction_type": "X"}, "transaction_type"),
        ({"asset_name": None}, "asset_name"),
        ({"unconsumed": ["stray"]}, "lines_consumed"),
    ],
)
def test_checks_fail_when_they_should(change: dict[str, Any], failed: str) -> None:
    confidence, failures = checks.score_row({**GOOD_ROW, **change})
    assert failures == [failed] and confidence < 1.0


@pytest.mark.parametrize("ticker", ["BRK.B", "COF$I", "T$A", "91282CJP7", "912797KJ5"])
def test_class_preferred_and_cusip_symbols_are_tickers(ticker: str) -> None:
    assert checks.check_ticker({"ticker": ticker})


def test_exact_and_open_amounts_are_valid() -> None:
    assert checks.check_amount({"amount_low": 350.78, "amount_high": 350.78})
    assert checks.check_amount({"amount_low": 1000001, "amount_high": None})
    assert checks.check_amount({"amount_low": 50000001, "amount_high": None})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$250,001 - $500,000", (250001, 500000, "range")),
        ("$350.78", (350.78, 350.78, "exact")),
        ("$5,000", (5000, 5000, "exact")),
        ("Spouse/DC Over $1,000,000", (1000001, None, "over")),
        ("Over $50,000,000", (50000001, None, "over")),
        ("", (None, None, "unknown")),
    ],
)
def test_parse_amount(text: str, expected: tuple) -> None:
    amount = parse_amount(text)
    assert (amount.low, amount.high, amount.kind) == expected


def test_parse_date() -> None:
    assert parse_date("03/8/2017").isoformat() == "2017-03-08"
    assert parse_date("13/01/2020") is None
    assert parse_date("1/16/26") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apple Inc. - Common Stock (AAPL) [ST]", ("Apple Inc. - Common Stock", "AAPL", "ST")),
        (
            "Berkshire Hathaway Inc. New Common Stock (BRK.B) [ST]",
            ("Berkshire Hathaway Inc. New Common Stock", "BRK.B", "ST"),
        ),
        ("US Treasury Bill [GS]", ("US Treasury Bill", None, "GS")),
        ("Municipal Bond (matures 2030) [GS]", ("Municipal Bond (matures 2030)", None, "GS")),
        ("Ohio St. Cap Facs Lease", ("Ohio St. Cap Facs Lease", None, None)),
        ("FCNTX [OT]", ("FCNTX", None, "OT")),
        # A word in parentheses is part of the name, not a ticker (real rows of 20026547).
        ("BTC (Bitcoin) [CT]", ("BTC (Bitcoin)", None, "CT")),
        ("SL Partners VII (ICapital) Fund [HN]", ("SL Partners VII (ICapital) Fund", None, "HN")),
        ("Preferred Stock, Series D (EFC$D) [ST]", ("Preferred Stock, Series D", "EFC$D", "ST")),
        ("Alphabet Inc. (googl) [ST]", ("Alphabet Inc.", "GOOGL", "ST")),
    ],
)
def test_parse_asset(text: str, expected: tuple) -> None:
    asset = parse_asset(text)
    assert (asset.name, asset.ticker, asset.asset_type) == expected


@pytest.mark.parametrize(
    ("parts", "joined"),
    [
        (["UNITED STATES TREAS SER AU-", "2026; 4.625%"], "UNITED STATES TREAS SER AU-2026; 4.625%"),
        (["$250,001 -", "$500,000"], "$250,001 - $500,000"),  # a lone dash is not a wrapped word
        (["Bought  shares", "", "of Apple."], "Bought shares of Apple."),
        ([], ""),
    ],
)
def test_join_lines(parts: list[str], joined: str) -> None:
    assert join_lines(parts) == joined


def test_parse_tx_type() -> None:
    assert parse_tx_type("S (Partial)") == "S (partial)"
    assert parse_tx_type("p") == "P"
    assert parse_tx_type("") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("F\ufffe\ufffe\ufffe\ufffe\ufffe S\ufffe\ufffe\ufffe\ufffe\ufffe: New", ("filing_status", "New")),
        ("F\x00\x00\x00\x00\x00 S\x00\x00\x00\x00\x00: Amended", ("filing_status", "Amended")),
        ("FIlINg STaTuS: New", ("filing_status", "New")),
        ("SUBHOlDINg OF: UBS 401K", ("subholding_of", "UBS 401K")),
        ("DESCRIPTIoN: Sold 10 shares: all", ("description", "Sold 10 shares: all")),
        ("C\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe: a note", ("comments", "a note")),
        ("L\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe: US", ("location", "US")),
        ("D: not a small-caps label", None),
        ("Sold 10 shares at $5", None),
    ],
)
def test_detail_labels(line: str, expected: tuple[str, str] | None) -> None:
    assert match_detail_label(line) == expected


def test_section_titles() -> None:
    assert is_section_title(
        "A\ufffe\ufffe\ufffe\ufffe C\ufffe\ufffe\ufffe\ufffe D\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe"
    )
    assert is_section_title("initial Public offeringS")
    assert is_section_title("* For the complete list of asset type abbreviations, please visit x.")
    assert not is_section_title("L\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe\ufffe: US")
    assert not is_section_title("Stock (NVDA) [ST]")


def _line(y: float, *words: tuple[str, float]) -> Line:
    return Line([Word(text, x, x + 6 * len(text), y, y - 7) for text, x in words], y, y - 7)


HEADER = _line(
    700,
    ("ID", 25),
    ("Owner", 62),
    ("Asset", 101),
    ("Transaction", 248),
    ("Date", 314),
    ("Notification", 367),
    ("Amount", 432),
)


def _page(number: int, *lines: Line) -> PageLayout:
    return PageLayout(number, 612, 792, [HEADER, *lines])


def test_row_continued_across_page_break() -> None:
    page1 = _page(
        1,
        _line(
            650,
            ("SP", 62),
            ("Apple", 101),
            ("Inc.", 135),
            ("P", 248),
            ("01/14/2025", 314),
            ("01/15/2025", 367),
            ("$1,001", 432),
            ("-", 470),
        ),
        _line(640, ("(AAPL)", 101), ("$15,000", 432)),
    )
    page2 = _page(
        2,
        _line(650, ("[ST]", 101)),
        _line(640, ("FILING", 101), ("STATUS:", 140), ("New", 190)),
        _line(630, ("DESCRIPTION:", 101), ("Bought", 180), ("shares", 220)),
        _line(620, ("of", 101), ("Apple.", 120)),
    )
    parsed = parse_ptr([page1, page2])
    (row,) = parsed["transactions"]
    assert (row["asset_name"], row["ticker"], row["asset_type"]) == ("Apple Inc.", "AAPL", "ST")
    assert (row["amount_low"], row["amount_high"], row["owner"]) == (1001, 15000, "SP")
    assert row["description"] == "Bought shares of Apple."
    assert row["cap_gains_over_200"] is None  # no Cap. Gains column on this form
    assert parsed["warnings"] == [] and row["confidence"] == 1.0


def test_unconsumed_anchor_is_reported_and_zero_rows_fail() -> None:
    # A date under "Date" with neither transaction type nor notification date cannot start a row.
    parsed = parse_ptr([_page(1, _line(650, ("Apple", 101), ("01/14/2025", 314)))])
    assert parsed["transactions"] == []
    assert parsed["warnings"][-1].startswith("page 1: 1 row anchors but 0 rows")
    with pytest.raises(ParseFailure) as info:
        _fail_on_empty(parsed, "X")
    assert info.value.reason == "no_rows"


def test_transaction_id_in_the_id_column_is_read() -> None:
    page = _page(
        1,
        _line(650, ("2000115357", 25), ("SP", 62), ("Echo", 101), ("S", 248), ("01/05/2024", 314),
              ("02/02/2024", 367), ("$1,001", 432), ("-", 470)),
        _line(640, ("Fund", 101), ("[HN]", 130), ("$15,000", 432)),
        _line(630, ("FILING", 101), ("STATUS:", 140), ("Deleted", 190)),
        _line(600, ("Apple", 101), ("(AAPL)", 135), ("P", 248), ("01/14/2025", 314),
              ("01/15/2025", 367), ("$1,001", 432), ("-", 470)),
        _line(590, ("77", 25), ("[ST]", 101), ("$15,000", 432)),
    )  # fmt: skip
    parsed = parse_ptr([page])
    deleted, second = parsed["transactions"]
    assert (deleted["transaction_id"], deleted["filing_status"], deleted["confidence"]) == (
        "2000115357",
        "Deleted",
        1.0,
    )
    # Only the anchor line's ID column holds the ID; a stray word lower down is still reported.
    assert second["transaction_id"] is None and second["unconsumed"] == ["77"]
    assert parsed["warnings"] == ["row 2 (page 1): unconsumed words ['77']"]
