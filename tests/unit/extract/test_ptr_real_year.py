"""E-filed defects found by parsing every PTR of the real 2025 year, checked on those filings.

Expected values were read on the rendered pages.
"""

from __future__ import annotations

from typing import Any

import pytest
from extract_fixtures import YEAR_2025_PTRS, analysis, require


def _rows(doc_id: str) -> list[dict[str, Any]]:
    ptr = analysis(require(YEAR_2025_PTRS / f"{doc_id}.pdf"))["ptr"]
    assert ptr is not None
    return ptr["transactions"]


@pytest.mark.parametrize(
    ("doc_id", "row", "name"),
    [
        ("20033393", 1, "UNITED STATES TREAS SER AU-2026; 4.625%; 11/15/2026 NTS NOTE"),
        ("20032254", 1, "Illinois St Toll Highway Auth Senior-Ser Rev 5% due 1/1/27"),
        ("20030212", 6, "EASTON PA AREA SCH DIST REF-SER A LTD TAX"),
    ],
)
def test_hyphen_at_a_line_end_is_kept(doc_id: str, row: int, name: str) -> None:
    assert _rows(doc_id)[row - 1]["asset_name"] == name


def test_no_placeholder_left_in_any_asset_name() -> None:
    for doc_id in ("20033393", "20032254", "20030212"):
        assert not any("\ufffe" in (r["asset_name"] or "") for r in _rows(doc_id))


@pytest.mark.parametrize(
    ("doc_id", "row", "name"),
    [("20026547", 1, "BTC (Bitcoin)"), ("20026547", 2, "SOL (Solana)"), ("20030371", 1, "SOL (Solana)")],
)
def test_crypto_name_in_parentheses_is_not_a_ticker(doc_id: str, row: int, name: str) -> None:
    found = _rows(doc_id)[row - 1]
    assert (found["asset_name"], found["ticker"], found["asset_type"]) == (name, None, "CT")
    assert found["confidence"] == 1.0


def test_preferred_share_symbol_is_a_ticker() -> None:
    found = _rows("20029068")[0]
    assert found["ticker"] == "COF$I" and not found["asset_name"].endswith(")")


# (doc_id, {row: transaction_id}, {row: filing status}) as printed.
AMENDMENTS = [
    ("20029046", {1: "2000115357", 2: "2000115358"}, {1: "Deleted", 2: "Deleted"}),
    ("20030475", {1: "2000137338", 3: "2000137339"}, {1: "Deleted", 2: "New", 3: "Deleted"}),
    ("20030875", {1: "2000114315", 2: "2000128986"}, {1: "Amended", 2: "Amended"}),
    ("20031022", {45: "2000142794"}, {45: "Amended", 44: "New"}),
    ("20030336", {1: "2000137143"}, {1: "Amended"}),
]


@pytest.mark.parametrize(("doc_id", "ids", "statuses"), AMENDMENTS, ids=[a[0] for a in AMENDMENTS])
def test_transaction_ids_of_amended_and_deleted_rows(
    doc_id: str, ids: dict[int, str], statuses: dict[int, str]
) -> None:
    ptr = analysis(require(YEAR_2025_PTRS / f"{doc_id}.pdf"))["ptr"]
    rows = ptr["transactions"]
    assert {r["row"]: r["transaction_id"] for r in rows if r["transaction_id"]} == ids
    assert {n: rows[n - 1]["filing_status"] for n in statuses} == statuses
    assert all(r["confidence"] == 1.0 for r in rows if r["transaction_id"])
    assert not any("unconsumed" in w for w in ptr["warnings"])
