"""Silver and Gold on the local stack: exact trades, stable keys, a gate that really blocks."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from services.common import keys

pytestmark = pytest.mark.e2e


def _gold(stack) -> tuple[dict, dict]:
    s3 = stack.client("s3")
    bucket = stack.provisioned.environment["GOLD_BUCKET"]
    pointer = json.loads(s3.get_object(Bucket=bucket, Key=keys.GOLD_POINTER_KEY)["Body"].read())
    tables = {}
    for name, table_keys in pointer["tables"].items():
        parts = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in table_keys]
        tables[name] = [row for part in parts for row in part.to_pylist()]
    return pointer, tables


def _golden_rows(fixtures_dir) -> dict[tuple[str, int], dict]:
    rows = {}
    for path in sorted((fixtures_dir / "golden" / "ptr").glob("*.json")):
        doc = json.loads(path.read_text())
        for t in doc["transactions"]:
            rows[(doc["doc_id"], t["row"])] = t
    return rows


def test_gold_holds_exactly_the_golden_trades(make_stack, mirror_dir, fixtures_dir):
    stack = make_stack(mirror_dir)
    run = stack.wait_for_run(stack.request_run([2025]), timeout_s=240)
    assert run["status"] == "succeeded", run
    pointer, gold = _gold(stack)
    assert run["gold_version"] == pointer["version"]

    golden = _golden_rows(fixtures_dir)
    facts = gold["fact_transactions"]
    assert len(facts) == len(golden) == 72
    by_row = {(f["doc_id"], f["row"]): f for f in facts}
    assert set(by_row) == set(golden)
    for key, expected in golden.items():
        fact = by_row[key]
        for field in ("owner", "ticker", "asset_type", "transaction_type", "amount_low", "amount_high"):
            assert fact[field] == expected[field], (key, field)
        assert str(fact["transaction_date"]) == expected["transaction_date"]
        assert str(fact["notification_date"]) == expected["notification_date"]
        # Lag is days from the trade to the filing date in the index; late means over 45.
        filed = next(f for f in gold["fact_filings"] if f["doc_id"] == key[0])["filing_date"]
        assert fact["disclosure_lag_days"] == (filed - fact["transaction_date"]).days
        assert fact["is_late"] == (fact["disclosure_lag_days"] > 45)

    members = {m["member_key"]: m for m in gold["dim_member"]}
    pelosi = {f["member_key"] for f in facts if f["doc_id"] == "20026590"}
    assert len(pelosi) == 1
    assert members[pelosi.pop()]["bioguide_id"] == "P000197"
    assert pointer["quality"]["passed"] is True

    # Reprocessing the year re-extracts and rebuilds; no key changes.
    from events.models import RunRequested

    again = stack.wait_for_run(stack.request(RunRequested(years=[2025], source_url=stack.source_url,
                                                          trigger="reprocess", force=True)), timeout_s=240)
    assert again["status"] == "succeeded", again
    assert again["counts"]["extract_extracted"] == 20 and again["counts"].get("fetch_stored", 0) == 0
    pointer2, gold2 = _gold(stack)
    assert pointer2["version"] != pointer["version"]
    assert sorted(f["transaction_key"] for f in gold2["fact_transactions"]) == sorted(f["transaction_key"] for f in facts)


def test_corrupted_silver_blocks_publishing_and_shows_in_the_ledger(make_stack, mirror_dir):
    stack = make_stack(mirror_dir)
    first = stack.wait_for_run(stack.request_run([2025]), timeout_s=240)
    assert first["status"] == "succeeded"
    live = _gold(stack)[0]["version"]

    s3 = stack.client("s3")
    silver = stack.provisioned.environment["SILVER_BUCKET"]
    s3.put_object(Bucket=silver, Key=keys.document_key(2025, "20026590"), Body=b'{"doc_id": "20026590", "trunc')
    from events.models import GoldRequested

    rebuild = stack.wait_for_run(stack.request(GoldRequested(years=[2025], reason="test")), timeout_s=120)
    assert rebuild["status"] == "failed"
    assert "quality gate rejected" in rebuild["failure_reason"]
    assert _gold(stack)[0]["version"] == live  # the last good version stays live

    # An operator overrides the failing check, with a reason; the next build publishes and says so.
    from services.build_gold import overrides

    with pytest.raises(ValueError, match="no quality check is called"):
        overrides.set_override("silver_integrty", "typo", "ops")
    overrides.set_override("silver_integrity", "INC-7: one record is corrupt, republish the rest", "ops")
    overrides.set_override("volume", "INC-7: the corrupt record's 9 trades are missing", "ops")
    forced = stack.wait_for_run(stack.request(GoldRequested(years=[2025], reason="override")), timeout_s=120)
    assert forced["status"] == "succeeded", (forced.get("failure_reason"), forced.get("errors"))
    pointer = _gold(stack)[0]
    [check] = [c for c in pointer["quality"]["checks"] if c["name"] == "silver_integrity"]
    assert check["passed"] is False and check["overridden"] is True
    assert check["override_reason"].startswith("INC-7: one record is corrupt")


def test_only_documents_read_by_an_older_parser_are_extracted_again(make_stack, mirror_dir):
    from services.common import watermarks
    from services.common.states import DocumentState

    stack = make_stack(mirror_dir)
    assert stack.wait_for_run(stack.request_run([2025]), timeout_s=240)["status"] == "succeeded"
    assert watermarks.move(2025, "20027933", DocumentState.EXTRACTED, parser_version="0.0.1")

    run = stack.wait_for_run(stack.request_run([2025]), timeout_s=120)
    assert run["status"] == "succeeded"
    assert run["counts"]["extract_extracted"] == 1
    assert [d["doc_id"] for d in stack.run_item(run["run_id"])["documents"]] == ["20027933"]
    assert watermarks.filing(2025, "20027933").parser_version != "0.0.1"
