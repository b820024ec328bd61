"""Trades read from paper scans through the API: marked, filterable on source and needs_review."""

from __future__ import annotations

import json
from datetime import timedelta

import gold_records
import pytest
from gold_env import NOW, build_gold, gold_stack

from infra.local.http_api import LambdaContext, http_event
from services.common import keys

SCANNED = "8221237"


@pytest.fixture(scope="module")
def stack():
    with gold_stack(publish=False) as env:
        rows = [gold_records.row(1, page=1, source="ocr", needs_review=[], ticker=None, asset_name="Scanned A"),
                gold_records.row(2, page=2, source="ocr", needs_review=["amount_marks"], confidence=0.6, ticker=None,
                            asset_name="Scanned B")]
        record = gold_records.document_record(SCANNED, rendering="scanned", ptr={"transactions": rows})
        s3 = env["s3"]
        s3.put_object(Bucket="silver", Key=keys.document_key(2025, SCANNED), Body=json.dumps(record).encode())
        snapshot = json.loads(s3.get_object(Bucket="silver", Key=keys.filings_key(2025))["Body"].read())
        snapshot["filings"].append({**snapshot["filings"][0], "doc_id": SCANNED, "filing_type": "P"})
        s3.put_object(Bucket="silver", Key=keys.filings_key(2025), Body=json.dumps(snapshot).encode())
        assert build_gold(s3, run_id="run-ocr", now=NOW + timedelta(hours=1)).published
        from services.api.app import store

        store.reset()
        yield env


def call(query: dict) -> tuple[int, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event("/v1/trades", query), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_trades_filter_on_source_and_review(stack):
    everything = call({"limit": "500"})[1]
    ocr = call({"source": "ocr", "limit": "500"})[1]
    efiled = call({"source": "efiled", "limit": "500"})[1]
    assert ocr["total"] == 2 and efiled["total"] == everything["total"] - 2
    assert {(t["doc_id"], t["page"], t["source"]) for t in ocr["items"]} == {(SCANNED, 1, "ocr"), (SCANNED, 2, "ocr")}
    assert all(t["source"] == "efiled" and t["needs_review"] == [] for t in efiled["items"])
    flagged = call({"needs_review": "true", "limit": "500"})[1]
    assert [(t["doc_id"], t["needs_review"], t["confidence"]) for t in flagged["items"]] == [
        (SCANNED, ["amount_marks"], 0.6)]
    assert call({"needs_review": "false", "limit": "500"})[1]["total"] == everything["total"] - 1
    assert call({"source": "ocr", "needs_review": "false"})[1]["total"] == 1


def test_a_bad_source_is_a_400_naming_it(stack):
    status, body = call({"source": "fax"})
    assert status == 400 and body["parameter"] == "source"


def test_a_gold_from_before_the_ocr_stage_reads_as_efiled_rows(stack):
    from services.api.app import store
    from services.read_model import data

    live = store.data()
    facts = live.tables["fact_transactions"]
    older = facts.drop_columns(["page", "confidence", "source", "needs_review"])
    gold = data.GoldData(version="older", built_at=None, years=[2025], row_counts={},
                         tables={**live.tables, "fact_transactions": older})
    assert data.query_trades(gold, source="efiled", limit=500)["total"] == facts.num_rows
    assert data.query_trades(gold, source="ocr")["total"] == 0
    assert data.query_trades(gold, needs_review=True)["total"] == 0
    row = data.query_trades(gold, limit=1)["items"][0]
    assert (row["source"], row["needs_review"], row["page"]) == ("efiled", [], None)
