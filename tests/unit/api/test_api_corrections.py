"""A deleted trade counts nowhere in the API, and /v1/trades/{key} shows its chain."""

from __future__ import annotations

import json

import gold_records
import pytest
from gold_env import GOLDEN_DIR, gold_stack

from infra.local.http_api import LambdaContext, http_event

PELOSI = "P000197"


def _deletion() -> dict:
    """Pelosi deletes the GOOGL option purchase of her PTR 20026590 in a later filing."""
    golden = json.loads((GOLDEN_DIR / "20026590.json").read_text())
    googl = golden["transactions"][0] | {"filing_status": "Deleted"}
    return gold_records.golden_record(golden | {"doc_id": "20099999", "transactions": [googl]}, "2025-03-01")


@pytest.fixture(scope="module")
def stack():
    if not GOLDEN_DIR.exists():
        pytest.skip(f"shared fixture absent: {GOLDEN_DIR}")
    with gold_stack(publish=True, extra_records=(_deletion(),)) as env:
        yield env


def call(path: str, query: dict | None = None) -> tuple[int, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, query), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _filing_trades(doc_id: str) -> list[dict]:
    return call(f"/v1/filings/2025-{doc_id}")[1]["trades"]


def test_the_chain_of_a_deleted_trade(stack):
    original = next(t for t in _filing_trades("20026590") if t["ticker"] == "GOOGL")
    deletion = _filing_trades("20099999")[0]
    assert (original["trade_status"], original["counted"], original["superseded_by"]) == (
        "deleted", False, deletion["transaction_key"],
    )
    status, detail = call(f"/v1/trades/{original['transaction_key']}")
    assert status == 200
    assert [(link["role"], link["transaction_key"]) for link in detail["chain"]] == [
        ("original", original["transaction_key"]), ("deletion", deletion["transaction_key"]),
    ]
    assert detail["deleted_by"]["transaction_key"] == deletion["transaction_key"] and detail["amended_by"] == []
    # The same chain from the deletion's side.
    assert call(f"/v1/trades/{deletion['transaction_key']}")[1]["original"]["transaction_key"] == original["transaction_key"]
    assert call("/v1/trades/0123456789abcdef0123")[0] == 404


def test_a_deleted_trade_counts_nowhere(stack):
    gone = {t["transaction_key"] for t in _filing_trades("20026590") + _filing_trades("20099999") if not t["counted"]}
    assert len(gone) == 2
    summary = call("/v1/summary")[1]
    assert summary["totals"]["trades"] == 71  # the mirror's 72 less the deleted one; the deletion adds none
    assert sum(m["trades"] for m in summary["by_month"]) == 71
    listed = call("/v1/trades", {"limit": "200"})[1]
    assert listed["total"] == 71 and not gone & {t["transaction_key"] for t in listed["items"]}
    member = call(f"/v1/members/{PELOSI}")[1]
    assert member["member"]["stats"]["trades"] == 8 and len(member["trades"]) == 8
    assert "GOOGL" not in {t["ticker"] for t in member["top_tickers"]}
    for window in ("7", "30", "90"):
        trending = call("/v1/trending", {"window": window, "limit": "500"})[1]
        googl = next((t for t in trending["items"] if t["ticker"] == "GOOGL"), None)
        counted = call("/v1/trades", {"ticker": "GOOGL", "date_field": "disclosure", "from": trending["window_start"],
                                      "limit": "200"})[1]["total"]  # fmt: skip
        assert (googl["trades"] if googl else 0) == counted
