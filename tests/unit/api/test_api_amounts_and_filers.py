"""Open-ended amounts, officers' trades and ambiguous corrections, through the API's handler.

The mirror's Gold gains three filings: Pelosi's "Over $50,000,000" and "Spouse/DC Over
$1,000,000" purchases of NVDA, an officer's trade (an officer files PTRs but is not a member), and
a correction of Pelosi's that matches two earlier rows equally.
"""

from __future__ import annotations

import json

import gold_records
import pytest
from gold_env import GOLDEN_DIR, gold_stack

from infra.local.http_api import LambdaContext, http_event

PELOSI = "P000197"
OVER_50M = gold_records.row(1, ticker="NVDA", asset_name="NVIDIA Corporation - Common Stock",
                            amount_low=50_000_001, amount_high=None, transaction_date="2025-01-06")  # fmt: skip
SPOUSE_OVER_1M = gold_records.row(2, ticker="NVDA", asset_name="NVIDIA Corporation - Common Stock", owner="SP",
                                  amount_low=1_000_001, amount_high=None, transaction_date="2025-01-07")  # fmt: skip


def _pelosi(doc_id: str, rows: list[dict], filing_date: str) -> dict:
    header = {
        "filer_name": "Hon. Nancy Pelosi",
        "status": "Member",
        "state_district": "CA11",
        "signature_date": None,
    }
    ptr = {"doc_id": doc_id, "filer_name": "Hon. Nancy Pelosi", "status": "Member", "state_district": "CA11",
           "transactions": rows}  # fmt: skip
    return gold_records.document_record(doc_id, filing_date=filing_date, ptr=ptr, header=header)


def _officer() -> dict:
    header = {
        "filer_name": "Jane Roe",
        "status": "Officer Or Employee",
        "state_district": None,
        "signature_date": None,
    }
    ptr = {"doc_id": "20099002", "filer_name": "Jane Roe", "status": "Officer Or Employee", "state_district": None,
           "transactions": [gold_records.row(1, ticker="KO", asset_name="Coca-Cola Company")]}  # fmt: skip
    return gold_records.document_record("20099002", filing_date="2025-02-01", ptr=ptr, header=header)


def _ambiguous_pair() -> tuple[dict, dict]:
    twin = gold_records.row(1, ticker="PEP", asset_name="PepsiCo, Inc.", transaction_date="2025-01-09")
    original = _pelosi("20099003", [twin, twin | {"row": 2}], "2025-01-20")
    amendment = _pelosi("20099004", [twin | {"filing_status": "Amended"}], "2025-02-20")
    return original, amendment


@pytest.fixture(scope="module")
def stack():
    if not GOLDEN_DIR.exists():
        pytest.skip(f"shared fixture absent: {GOLDEN_DIR}")
    records = (_pelosi("20099001", [OVER_50M, SPOUSE_OVER_1M], "2025-01-20"), _officer(), *_ambiguous_pair())
    with gold_stack(publish=True, extra_records=records) as env:
        yield env


def call(path: str, query: dict | None = None) -> tuple[int, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, query), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _open(t: dict) -> bool:
    return t["amount_low"] is not None and t["amount_high"] is None


def test_an_open_ended_range_sorts_above_every_bounded_one(stack):
    page = call("/v1/trades", {"sort": "-amount", "limit": "3"})[1]
    assert [(t["amount_low"], t["amount_high"]) for t in page["items"][:2]] == [
        (50_000_001, None),
        (1_000_001, None),
    ]
    assert page["items"][2]["amount_high"] is not None
    ascending = call("/v1/trades", {"sort": "amount", "limit": "500"})[1]["items"]
    stated = [t for t in ascending if t["amount_low"] is not None or t["amount_high"] is not None]
    assert [_open(t) for t in stated[-2:]] == [True, True] and not any(_open(t) for t in stated[:-2])


def test_an_open_ended_range_reaches_any_minimum_above_its_floor(stack):
    found = call("/v1/trades", {"min_amount": "100000000"})[1]["items"]
    assert sorted((t["amount_low"], t["amount_high"]) for t in found) == [
        (1_000_001, None),
        (50_000_001, None),
    ]
    # max_amount still reads the floor: "Over $50,000,000" does not start at or below $2M.
    capped = call("/v1/trades", {"min_amount": "2000000", "max_amount": "2000000", "ticker": "NVDA"})[1][
        "items"
    ]
    assert (1_000_001, None) in {(t["amount_low"], t["amount_high"]) for t in capped}
    assert (50_000_001, None) not in {(t["amount_low"], t["amount_high"]) for t in capped}


def test_a_sum_with_an_open_ended_range_has_no_ceiling(stack):
    totals = call("/v1/summary")[1]["totals"]
    assert totals["amount_low_sum"] > 51_000_000 and totals["amount_high_sum"] is None
    nvda = call("/v1/tickers/NVDA")[1]
    assert nvda["ticker"]["amount_high_sum"] is None and nvda["ticker"]["amount_low_sum"] > 51_000_000
    stats = call(f"/v1/members/{PELOSI}")[1]["member"]["stats"]
    assert stats["amount_high_sum"] is None and stats["amount_low_sum"] > 51_000_000
    january = next(m for m in call(f"/v1/members/{PELOSI}")[1]["by_month"] if m["month"] == "2025-01")
    assert january["amount_high_sum"] is None
    # A ticker without one keeps its ceiling, never below its floor.
    aapl = call("/v1/tickers/AAPL")[1]["ticker"]
    assert aapl["amount_high_sum"] >= aapl["amount_low_sum"] > 0
    # Ranked first among equals: no ceiling reaches further than any.
    trending = call("/v1/trending", {"window": "90", "limit": "500"})[1]["items"]
    nvda_rank = next(t for t in trending if t["ticker"] == "NVDA")
    assert all(t["rank"] > nvda_rank["rank"] for t in trending
               if (t["buyers"], t["trades"]) == (nvda_rank["buyers"], nvda_rank["trades"]) and t["ticker"] != "NVDA")  # fmt: skip


def test_officers_trade_but_are_not_counted_as_members_trading(stack):
    summary = call("/v1/summary")[1]
    traded = call("/v1/members", {"traded": "true", "limit": "500"})[1]
    assert summary["totals"]["members_trading"] == traded["total"]
    officers = call("/v1/members", {"kind": "officer", "traded": "true"})[1]["items"]
    assert [m["filer_name"] for m in officers] == ["Jane Roe"]
    assert call("/v1/trades", {"ticker": "KO", "limit": "500"})[1]["total"] >= 1


def test_an_ambiguous_correction_names_its_candidates(stack):
    amendment = call("/v1/filings/2025-20099004")[1]["trades"][0]
    twins = sorted(t["transaction_key"] for t in call("/v1/filings/2025-20099003")[1]["trades"])
    detail = call(f"/v1/trades/{amendment['transaction_key']}")[1]["trade"]
    assert detail["correction_match"] == "ambiguous" and detail["correction_candidates"] == twins


def test_a_member_page_takes_the_bioguide_id_in_any_case_and_never_a_name(stack):
    assert call(f"/v1/members/{PELOSI.lower()}")[0] == 200
    assert call(f"/v1/members/{PELOSI}")[1]["member"]["member_key"] == PELOSI
    assert call("/v1/members/PELOSI")[0] == 404
