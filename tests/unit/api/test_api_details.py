"""Issue 15's API details: specific 404s, unknown and malformed parameters, error caching, ETag/304,
CORS, coverage beside the numbers, paged member/ticker trades, search, dollars and freshness."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from gold_env import gold_stack

from infra.local.http_api import LambdaContext, http_event

PELOSI = "P000197"


@pytest.fixture(scope="module")
def stack():
    with gold_stack(publish=True) as env:
        yield env


def call(path: str, query: dict | str | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, query, headers=headers), LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], response["headers"], body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/members/Z999999", "no member with key 'Z999999'"),
        ("/v1/tickers/NOPE", "no trades of ticker 'NOPE'"),
        ("/v1/filings/2025-1", "no filing '2025-1'"),
        ("/v1/nothing-here", "no such endpoint: /v1/nothing-here; see /openapi.json"),
    ],
)
def test_a_404_says_what_was_not_found(stack, path, message):
    status, headers, body = call(path)
    assert (status, body["error"], body["message"]) == (404, "not_found", message)
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/v1/trades", {"bogus": "1"}, "bogus"),
        ("/v1/members", {"limit": "5", "tickr": "NVDA"}, "tickr"),
        ("/v1/members/P000197", {"x": "1"}, "x"),
        ("/v1/summary", {"window": "7"}, "window"),
        ("/v1/trades", {"to": "0"}, "to"),
        ("/v1/trades", {"from": "20250101"}, "from"),
        ("/v1/trades", {"from": "2025-02-30"}, "from"),
    ],
)
def test_unknown_or_malformed_parameters_are_a_400(stack, path, query, parameter):
    status, headers, body = call(path, query)
    assert status == 400, body
    assert body["parameter"] == parameter and parameter in body["message"]
    assert headers["Cache-Control"] == "no-store"  # not `no-cache`: an error is never stored


def test_a_400_names_what_the_endpoint_accepts(stack):
    _, _, body = call("/v1/trades", {"bogus": "1"})
    assert "unknown parameter 'bogus'" in body["message"] and "ticker" in body["message"]


def test_etag_and_304(stack):
    status, headers, body = call("/v1/tickers/NVDA")
    etag = headers["ETag"]
    assert status == 200 and etag.startswith('"') and headers["Cache-Control"].startswith("public")
    status, again, empty = call("/v1/tickers/NVDA", headers={"If-None-Match": etag})
    assert status == 304 and empty is None and again["ETag"] == etag
    assert call("/v1/tickers/NVDA", headers={"If-None-Match": '"other"'})[0] == 200
    # different answers, different tags
    assert call("/v1/tickers/AAPL")[1]["ETag"] != etag


def test_cors_lets_any_origin_read(stack):
    for path in ("/v1/summary", "/v1/members/Z999999", "/v1/health"):
        assert call(path)[1]["Access-Control-Allow-Origin"] == "*"


def test_member_coverage_beside_the_trades(stack):
    _, _, body = call(f"/v1/members/{PELOSI}")
    coverage = body["coverage"]
    assert coverage["ptr_filings"] == 1 and coverage["extracted"] == 1 and coverage["unreadable"] == 0
    _, _, summary = call("/v1/summary")
    totals = summary["coverage_totals"]
    ptrs = [f for f in call("/v1/filings", {"type": "P", "limit": "500"})[2]["items"]]
    assert totals["ptr_filings"] == len(ptrs)
    assert totals["unreadable"] == sum(f["extraction_status"] != "extracted" for f in ptrs)
    assert totals["extracted"] + totals["needs_ocr"] + totals["failed"] + totals["missing"] == totals["ptr_filings"]


def test_coverage_counts_paper_and_missing_ptrs():
    from services.read_model.data import coverage_of

    filings = [{"filing_type": "P", "extraction_status": s} for s in ("extracted", "needs_ocr", "needs_ocr", "missing")]
    filings.append({"filing_type": "A", "extraction_status": "extracted"})
    assert coverage_of(filings) == {"ptr_filings": 4, "extracted": 1, "needs_ocr": 2, "failed": 0, "missing": 1, "unreadable": 3}


def test_member_and_ticker_trades_come_in_pages(stack, monkeypatch):
    from services.read_model import data

    _, _, body = call(f"/v1/members/{PELOSI}")
    assert body["trades_total"] == 9 and len(body["trades"]) == 9
    # a page smaller than the member's trades: the first page, and /v1/trades gives the rest in the same order
    from services.api.app import store

    monkeypatch.setattr(data, "DETAIL_PAGE", 4)
    detail = data.member_detail(store.data(), PELOSI)
    assert detail["trades_total"] == 9 and len(detail["trades"]) == 4
    pages = call("/v1/trades", {"member": PELOSI, "limit": "4"})[2]["items"]
    assert [t["transaction_key"] for t in detail["trades"]] == [t["transaction_key"] for t in pages]
    nvda = data.ticker_detail(store.data(), "NVDA")
    assert nvda["trades_total"] == 5 and len(nvda["trades"]) == 4


def test_a_tickers_members_and_a_members_filings_come_in_pages(stack, monkeypatch):
    from services.api.app import store
    from services.read_model import data

    whole = call("/v1/tickers/NVDA")[2]
    assert whole["members_total"] == len(whole["members"]) >= 2
    # the route pages on in the detail's order, and says where the next page starts
    first = call("/v1/tickers/NVDA/members", {"limit": "1"})[2]
    second = call("/v1/tickers/NVDA/members", {"limit": "1", "offset": "1"})[2]
    assert first["total"] == whole["members_total"] and first["next_offset"] == 1
    assert [m["member_key"] for m in first["items"] + second["items"]] == [m["member_key"] for m in whole["members"][:2]]
    assert call("/v1/tickers/ZZZZ/members")[0] == 404
    assert call("/v1/tickers/NVDA/members", {"limit": "0"})[0] == 400
    # a page smaller than the lists: the detail holds the first page of each and counts them all
    monkeypatch.setattr(data, "DETAIL_PAGE", 1)
    nvda = data.ticker_detail(store.data(), "NVDA")
    assert len(nvda["members"]) == 1 and nvda["members_total"] == whole["members_total"]
    owners = Counter(f["member_key"] for f in call("/v1/filings", {"limit": "500"})[2]["items"])
    member, count = owners.most_common(1)[0]
    assert count >= 2
    filings = call("/v1/filings", {"member": member, "limit": "500"})[2]
    detail = data.member_detail(store.data(), member)
    assert detail["filings_total"] == filings["total"] == count
    assert [f["filing_key"] for f in detail["filings"]] == [filings["items"][0]["filing_key"]]
    # coverage still counts every filing, not the first page's
    assert detail["coverage"]["ptr_filings"] == sum(f["filing_type"] == "P" for f in filings["items"])


def test_search_finds_members_tickers_and_assets(stack):
    status, _, found = call("/v1/search", {"q": "nvidia"})
    assert status == 200
    assert [t["ticker"] for t in found["tickers"]] == ["NVDA"]
    assert any("NVIDIA" in a["asset_name"] for a in found["assets"])
    assert call("/v1/search", {"q": "pelosi"})[2]["members"][0]["member_key"] == PELOSI
    assert call("/v1/search")[0] == 400  # q is required
    # an asset filter narrows the trades to that asset's name
    trades = call("/v1/trades", {"asset": "nvidia", "limit": "100"})[2]
    assert trades["total"] == 5 and all("NVIDIA" in t["asset_name"].upper() for t in trades["items"])


def test_monthly_figures_in_dollars(stack):
    _, _, body = call(f"/v1/members/{PELOSI}")
    trades = call("/v1/trades", {"member": PELOSI, "limit": "100"})[2]["items"]
    mids = sum((t["amount_low"] + t["amount_high"]) / 2 if t["amount_high"] else t["amount_low"] for t in trades)
    assert sum(m["amount_mid_sum"] for m in body["by_month"]) == pytest.approx(mids)
    assert all(m["buy_mid_sum"] + m["sell_mid_sum"] <= m["amount_mid_sum"] + 0.01 for m in body["by_month"])


def test_health_reports_the_latest_disclosure_beside_the_build_time(stack):
    _, _, health = call("/v1/health")
    latest = max(t["disclosure_date"] for t in call("/v1/trades", {"limit": "500"})[2]["items"] if t["disclosure_date"])
    assert health["last_disclosure_date"] == latest
    assert health["disclosure_age_days"] > 0


def test_health_is_resolved_at_most_once_a_second_per_data_version(stack, monkeypatch):
    from services.api import handler

    resolved: list[str] = []
    real = handler.app.resolve
    monkeypatch.setattr(handler.app, "resolve", lambda event, context: resolved.append(event["rawPath"]) or real(event, context))
    clock = [1000.0]
    monkeypatch.setattr(handler.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(handler, "_health", [None, 0.0, None])
    first = call("/v1/health")
    again = call("/v1/health")
    assert resolved == ["/v1/health"] and again == first
    assert again[1]["Cache-Control"] == "no-store"  # still never stored by an HTTP cache
    clock[0] += handler.HEALTH_REUSE_S
    call("/v1/health")
    assert resolved == ["/v1/health", "/v1/health"]
    monkeypatch.setattr(handler, "_live_version", lambda: "another version")
    call("/v1/health")
    assert len(resolved) == 3  # new data: resolved again at once
