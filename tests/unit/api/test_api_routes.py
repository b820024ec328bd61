"""The HTTP API through its Lambda handler, with API Gateway v2 events, on a Gold built from the mirror."""

from __future__ import annotations

import json

import pytest
from gold_env import gold_stack

from infra.local.http_api import LambdaContext, http_event

PELOSI = "P000197"


@pytest.fixture(scope="module")
def stack():
    with gold_stack(publish=True) as env:
        yield env


def call(path: str, query: dict | str | None = None) -> tuple[int, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, query), LambdaContext())
    assert response["headers"]["Content-Type"].startswith("application/json"), response
    return response["statusCode"], json.loads(response["body"])


def all_pages(query: dict, limit: int = 7) -> list[dict]:
    items, offset = [], 0
    while offset is not None:
        status, page = call("/v1/trades", {**query, "limit": str(limit), "offset": str(offset)})
        assert status == 200, page
        items += page["items"]
        offset = page["next_offset"]
    return items


# --- exact answers --------------------------------------------------------------------------------


def test_pelosi_trades(stack):
    status, page = call("/v1/trades", {"member": PELOSI, "limit": "100"})
    assert status == 200
    assert page["total"] == 9 and len(page["items"]) == 9 and page["next_offset"] is None
    assert {t["member_name"] for t in page["items"]} == {"Nancy Pelosi"}
    assert {t["doc_id"] for t in page["items"]} == {"20026590"}
    # by name, case-insensitively, gives the same trades
    assert call("/v1/trades", {"member": "pelosi", "limit": "100"})[1]["total"] == 9


def test_member_page(stack):
    status, body = call(f"/v1/members/{PELOSI}")
    assert status == 200
    member = body["member"]
    assert (member["name"], member["party"], member["state_district"]) == ("Nancy Pelosi", "Democrat", "CA11")
    assert member["stats"]["trades"] == 9 and member["stats"]["ptr_filings"] == 1
    assert len(body["trades"]) == 9
    dates = [t["transaction_date"] for t in body["trades"]]
    assert dates == sorted(dates, reverse=True)
    assert [f["doc_id"] for f in body["filings"]] == ["20026590"]
    assert sum(m["trades"] for m in body["by_month"]) == 9
    assert {"NVDA", "AAPL"} <= {t["ticker"] for t in body["top_tickers"]}


def test_nvda(stack):
    status, body = call("/v1/tickers/NVDA")
    assert status == 200
    assert body["ticker"]["ticker"] == "NVDA" and body["ticker"]["trades"] == 5 and body["ticker"]["members"] == 2
    assert "NVIDIA" in body["ticker"]["asset_name"]
    assert {m["name"] for m in body["members"]} == {"Nancy Pelosi", "Marjorie Taylor Greene"}
    assert len(body["trades"]) == 5 and {t["ticker"] for t in body["trades"]} == {"NVDA"}
    # the ticker filter agrees, in any case
    assert call("/v1/trades", {"ticker": "nvda"})[1]["total"] == 5
    assert call("/v1/tickers/nvda")[0] == 200


def test_filters_narrow(stack):
    everything = call("/v1/trades", {"limit": "500"})[1]
    assert everything["total"] == 72
    sells = call("/v1/trades", {"type": "sell", "limit": "500"})[1]
    assert sells["total"] == 2 and all(t["side"] == "sell" for t in sells["items"])
    spouse = call("/v1/trades", {"member": PELOSI, "owner": "SP", "limit": "500"})[1]
    assert 0 < spouse["total"] <= 9 and all(t["owner"] == "SP" for t in spouse["items"])
    own = call("/v1/trades", {"owner": "self", "limit": "500"})[1]
    assert all(t["owner"] is None for t in own["items"])
    window = call("/v1/trades", {"from": "2025-01-10", "to": "2025-01-15", "limit": "500"})[1]
    assert window["total"] > 0
    assert all("2025-01-10" <= t["transaction_date"] <= "2025-01-15" for t in window["items"])
    big = call("/v1/trades", {"min_amount": "1000001", "limit": "500"})[1]
    assert big["total"] > 0 and all(t["amount_high"] >= 1_000_001 for t in big["items"])
    small = call("/v1/trades", {"max_amount": "15000", "limit": "500"})[1]
    assert all(t["amount_low"] <= 15000 for t in small["items"])
    assert big["total"] + small["total"] <= everything["total"]
    combined = call("/v1/trades", {"ticker": "NVDA", "member": PELOSI})[1]
    assert 0 < combined["total"] < 5


def test_pagination_and_sort(stack):
    pages = all_pages({"sort": "-amount"})
    assert len(pages) == 72 and len({t["transaction_key"] for t in pages}) == 72
    highs = [t["amount_high"] for t in pages if t["amount_high"] is not None]
    assert highs == sorted(highs, reverse=True)
    by_ticker = all_pages({"sort": "ticker"}, limit=50)
    tickers = [t["ticker"] for t in by_ticker if t["ticker"]]
    assert tickers == sorted(tickers)
    assert call("/v1/trades", {"offset": "1000"})[1]["items"] == []


def test_lists(stack):
    members = call("/v1/members", {"traded": "true"})[1]
    assert members["total"] == 2
    assert members["items"][0]["name"] == "Marjorie Taylor Greene"  # most trades first
    assert call("/v1/members", {"q": "pelosi"})[1]["items"][0]["member_key"] == PELOSI
    tickers = call("/v1/tickers", {"limit": "500"})[1]
    assert tickers["total"] == 35 and "NVDA" in {t["ticker"] for t in tickers["items"]}
    filings = call("/v1/filings", {"type": "P"})[1]
    assert filings["total"] == 5
    assert {f["extraction_status"] for f in call("/v1/filings", {"status": "missing"})[1]["items"]} == {"missing"}


def test_filing_with_its_trades_and_pdf(stack):
    status, body = call("/v1/filings/2025-20026590")
    assert status == 200
    assert body["filing"]["pdf_url"] == "https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/20026590.pdf"
    assert body["filing"]["member_name"] == "Nancy Pelosi"
    assert len(body["trades"]) == 9
    assert call("/v1/filings/20026590")[1]["filing"]["filing_key"] == "2025-20026590"
    # a non-PTR links to financial-pdfs
    other = call("/v1/filings", {"type": "C", "limit": "1"})[1]["items"][0]
    assert "/financial-pdfs/2025/" in other["pdf_url"]


def test_summary_trending_latest(stack):
    status, summary = call("/v1/summary")
    assert status == 200
    assert summary["totals"]["trades"] == 72 and summary["totals"]["filings"] == 32
    assert summary["gold_version"] == stack["build"].version
    assert "13107" in summary["notice"]
    assert sum(m["trades"] for m in summary["by_month"]) == 72
    trending = call("/v1/trending", {"window": "90", "limit": "5"})[1]
    assert trending["window_days"] == 90 and 0 < len(trending["items"]) <= 5
    assert [t["rank"] for t in trending["items"]] == sorted(t["rank"] for t in trending["items"])
    latest = call("/v1/trades/latest")[1]["items"]
    disclosed = [t["disclosure_date"] for t in latest]
    assert disclosed == sorted(disclosed, reverse=True)


def test_health_reports_freshness(stack):
    status, health = call("/v1/health")
    assert status == 200
    assert health["gold_version"] == stack["build"].version
    assert health["freshness_hours"] > 0
    # the test's Gold was built on 2025-11-26: older than 48 hours
    assert health["stale"] is True and health["status"] == "stale"
    assert health["published_at"] is not None


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/v1/trades", {"limit": "0"}, "limit"),
        ("/v1/trades", {"limit": "abc"}, "limit"),
        ("/v1/trades", {"from": "2025-13-01"}, "from"),
        ("/v1/trades", {"from": "2025-03-01", "to": "2025-01-01"}, "to"),
        ("/v1/trades", {"sort": "price"}, "sort"),
        ("/v1/trades", {"owner": "XX"}, "owner"),
        ("/v1/trades", {"min_amount": "-5"}, "min_amount"),
        ("/v1/trades", {"min_amount": "50000", "max_amount": "1000"}, "max_amount"),
        ("/v1/trending", {"window": "5"}, "window"),
        ("/v1/members", {"state": "California"}, "state"),
        ("/v1/filings", {"year": "1999"}, "year"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(stack, path, query, parameter):
    status, body = call(path, query)
    assert status == 400, body
    assert body["error"] == "bad_request" and body["parameter"] == parameter
    assert parameter in body["message"]


@pytest.mark.parametrize("path", ["/v1/members/Z999999", "/v1/tickers/NOPE", "/v1/filings/2025-1", "/v1/nothing-here"])
def test_unknown_things_are_a_404_json(stack, path):
    status, body = call(path)
    assert status == 404 and body["error"] == "not_found" and body["message"]


# --- served from the precomputed objects ------------------------------------------------------------


def test_cacheable_answers_come_from_the_site_bucket(stack):
    from services.api.app import store
    from services.common import keys

    s3 = stack["s3"]
    meta = json.loads(s3.get_object(Bucket="site", Key=keys.SITE_META_KEY)["Body"].read())
    key = meta["answers_prefix"] + keys.member_key_of(PELOSI)
    original = s3.get_object(Bucket="site", Key=key)["Body"].read()
    doctored = json.loads(original)
    doctored["member"]["name"] = "From The Cache"
    s3.put_object(Bucket="site", Key=key, Body=json.dumps(doctored).encode())
    try:
        store.reset()
        assert call(f"/v1/members/{PELOSI}")[1]["member"]["name"] == "From The Cache"
    finally:
        s3.put_object(Bucket="site", Key=key, Body=original)
        store.reset()
    assert call(f"/v1/members/{PELOSI}")[1]["member"]["name"] == "Nancy Pelosi"


# --- operations -------------------------------------------------------------------------------------


def test_ops_runs_and_dlq(stack):
    from services.common.tables import RunItem

    RunItem(
        "RUN#20251126T080000Z-abcdef01", "RUN", run_id="20251126T080000Z-abcdef01", entity="RUN", status="succeeded",
        trigger="cli", started_at="2025-11-26T08:00:00+00:00", finished_at="2025-11-26T08:01:30+00:00",
        counts={"fetch_stored": 29, "fetch_failed": 3}, durations_ms={"fetch": 1200, "extract": 5400},
        errors=["fetch 20033421: source_missing"], docs_expected=32, docs_settled=32,
    ).save()  # fmt: skip
    status, runs = call("/v1/ops/runs", {"limit": "5"})
    assert status == 200
    run = runs["items"][0]
    assert run["run_id"] == "20251126T080000Z-abcdef01" and run["duration_s"] == 90
    assert run["counts"]["fetch_stored"] == 29 and run["durations_ms"]["extract"] == 5400
    assert run["errors"] == ["fetch 20033421: source_missing"]
    from services.ledger.cost import monthly_projection
    from services.ledger.queries import list_runs

    [item] = list_runs(5)
    assert run["cost_usd"] > 0 and runs["monthly_projection"] == monthly_projection([item])

    stack["sqs"].send_message(QueueUrl=stack["dlqs"][1], MessageBody="{}")
    status, dlq = call("/v1/ops/dlq")
    assert status == 200
    assert [(q["name"], q["depth"]) for q in dlq["items"]] == [("fetch-dlq", 0), ("extract-dlq", 1)]
    assert dlq["total_depth"] == 1


def test_a_cached_answer_is_given_without_resolving_again(stack, monkeypatch):
    """A warm function's cached answer skips the resolver and Powertools' per-invocation wrappers
    (most of what a cached answer cost): the same bytes, and an uncached request still resolves."""
    from services.api import handler

    first = handler.lambda_handler(http_event("/v1/trades", {"ticker": "NVDA"}), LambdaContext())
    resolved: list[str] = []
    original = handler._resolve
    monkeypatch.setattr(handler, "_resolve", lambda event, context: resolved.append(event["rawPath"]) or original(
        event, context))
    again = handler.lambda_handler(http_event("/v1/trades", {"ticker": "NVDA"}), LambdaContext())
    assert again == first and resolved == []
    assert handler.lambda_handler(http_event("/v1/trades", {"ticker": "AAPL"}), LambdaContext())["statusCode"] == 200
    assert resolved == ["/v1/trades"]


def test_an_encoded_ampersand_cannot_poison_the_cache(stack):
    """`member=pelosi%26ticker%3DNVDA` is one odd member name, not Pelosi's NVDA trades: its
    (empty) answer must not be given to the real two-parameter query."""
    odd = call("/v1/trades", {"member": "pelosi&ticker=NVDA"})
    assert odd[0] == 200 and odd[1]["total"] == 0
    assert call("/v1/trades", "member=pelosi&ticker=NVDA")[1]["total"] == 3


def test_the_cache_keeps_to_its_byte_budget(stack, monkeypatch):
    """Equivalent spellings of a big page are distinct entries: bytes, not entries, must bind."""
    from services.api import handler

    budget = 3 * len(
        handler.lambda_handler(http_event("/v1/trades", {"limit": "500"}), LambdaContext())["body"]
    )
    monkeypatch.setattr(handler.cache, "max_bytes", budget)
    for spelling in ("0", "0.0", "00", "0e0", "-0", "000", "0.00"):
        response = handler.lambda_handler(
            http_event("/v1/trades", {"limit": "500", "min_amount": spelling}), LambdaContext()
        )
        assert response["statusCode"] == 200
        assert handler.cache.bytes <= budget
    assert len(handler.cache) <= 3
    # A body bigger than the whole budget is answered, not kept.
    monkeypatch.setattr(handler.cache, "max_bytes", 100)
    handler.cache.put(handler._live_version(), ("/v1/x", ""), {"statusCode": 200, "body": "x" * 101,
                                                               "headers": {"Cache-Control": "public"}})  # fmt: skip
    assert ("/v1/x", "") not in {k[1:] for k in handler.cache._entries}


def test_a_head_is_the_get_without_its_body(stack):
    """API Gateway hands the function a HEAD as it came (its own route): the GET's headers, no body."""
    from services.api.handler import lambda_handler

    got = lambda_handler(http_event("/v1/trades", {"ticker": "NVDA"}), LambdaContext())
    head = lambda_handler(http_event("/v1/trades", {"ticker": "NVDA"}, method="HEAD"), LambdaContext())
    assert (head["statusCode"], head["body"]) == (200, "") and got["body"]
    assert head["headers"]["ETag"] == got["headers"]["ETag"] and head["headers"]["Content-Type"] == got["headers"]["Content-Type"]
    again = lambda_handler(http_event("/v1/trades", {"ticker": "NVDA"}, method="HEAD",
                                      headers={"if-none-match": got["headers"]["ETag"]}), LambdaContext())  # fmt: skip
    assert again["statusCode"] == 304
    missing = lambda_handler(http_event("/v1/members/Z999999", method="HEAD"), LambdaContext())
    assert (missing["statusCode"], missing["body"]) == (404, "")
