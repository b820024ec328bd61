"""Gold from silver records: the golden trades, keys, lag and lateness, trending, assets."""

from __future__ import annotations

import copy
from datetime import date

import pyarrow.compute as pc
import pytest
from gold_records import document_record, row, silver_objects

from services.build_gold.compact import SilverObject, compact_documents, compact_filings
from services.build_gold.transform import ASSET_TYPES, transaction_keys
from services.common import keys

GOLDEN_FIELDS = (
    "owner",
    "ticker",
    "asset_type",
    "transaction_type",
    "amount_low",
    "amount_high",
    "cap_gains_over_200",
    "filing_status",
    "description",
    "subholding_of",
    "comments",
)


def _filing(
    doc_id: str,
    last: str = "Pelosi",
    first: str = "Nancy",
    sd: str = "CA11",
    filed: str | None = "2025-03-01",
):
    return {
        "doc_id": doc_id,
        "year": 2025,
        "prefix": "Hon.",
        "first": first,
        "last": last,
        "suffix": None,
        "filing_type": "P",
        "state_district": sd,
        "filing_date": filed,
    }


def _ptr(rows: list[dict]) -> dict:
    return {"transactions": rows}


def test_gold_holds_exactly_the_golden_trades(gold_from, mirror_silver, golden):
    facts = gold_from(*mirror_silver())["fact_transactions"].to_pylist()
    expected = {(doc_id, t["row"]): t for doc_id, g in golden.items() for t in g["transactions"]}
    assert len(expected) == 72
    assert {(f["doc_id"], f["row"]) for f in facts} == set(expected)
    assert len(facts) == 72
    for fact in facts:
        gold = expected[(fact["doc_id"], fact["row"])]
        assert {k: fact[k] for k in GOLDEN_FIELDS} == {k: gold[k] for k in GOLDEN_FIELDS}
        assert fact["transaction_date"].isoformat() == gold["transaction_date"]
        assert fact["notification_date"].isoformat() == gold["notification_date"]


def test_pelosi_resolves_to_her_bioguide_id(gold_from, mirror_silver):
    gold = gold_from(*mirror_silver())
    pelosi = gold["fact_transactions"].filter(pc.equal(gold["fact_transactions"]["doc_id"], "20026590"))
    assert set(pelosi["member_key"].to_pylist()) == {"P000197"}
    member = gold["dim_member"].filter(pc.equal(gold["dim_member"]["member_key"], "P000197")).to_pylist()[0]
    assert member["bioguide_id"] == "P000197"
    assert (member["match_method"], member["match_score"]) == ("exact_name_state_district", 1.0)
    assert (member["state"], member["district"], member["party"]) == ("CA", 11, "Democrat")
    assert member["term_start"] <= date(2025, 1, 17) <= member["term_end"]


def test_lag_and_lateness_follow_the_dates(gold_from, mirror_silver, mirror_filings):
    filed = {r["doc_id"]: date.fromisoformat(r["filing_date"]) for r in mirror_filings}
    for fact in gold_from(*mirror_silver())["fact_transactions"].to_pylist():
        lag = (filed[fact["doc_id"]] - fact["transaction_date"]).days
        assert (fact["lag_basis"], fact["disclosure_lag_days"]) == ("filing_date", lag)
        assert fact["is_late"] is (lag > 45)


def test_late_over_45_days_and_the_date_fallbacks(gold_from):
    snapshot = {"filings": [_filing("1", filed="2025-02-15"), _filing("2", filed=None)]}
    records = [
        document_record(
            "1",
            filing_date=None,
            ptr=_ptr([row(1, transaction_date="2025-01-01"), row(2, transaction_date="2024-12-31")]),
        ),
        document_record("2", filing_date=None, ptr=_ptr([row(1, transaction_date="2025-01-01")])),
    ]
    facts = gold_from(snapshot, records)["fact_transactions"].to_pylist()
    by_row = {(f["doc_id"], f["row"]): f for f in facts}
    assert (by_row[("1", 1)]["disclosure_lag_days"], by_row[("1", 1)]["is_late"]) == (45, False)
    assert (by_row[("1", 2)]["disclosure_lag_days"], by_row[("1", 2)]["is_late"]) == (46, True)
    # No filing date anywhere: the notification date stands in, and says so.
    assert (by_row[("2", 1)]["lag_basis"], by_row[("2", 1)]["disclosure_lag_days"]) == (
        "notification_date",
        2,
    )

    records[1]["header"] = {
        "filer_name": None,
        "status": None,
        "state_district": None,
        "signature_date": "2025-01-11",
    }
    fact = next(
        f for f in gold_from(snapshot, records)["fact_transactions"].to_pylist() if f["doc_id"] == "2"
    )
    assert (fact["lag_basis"], fact["disclosure_lag_days"]) == ("signature_date", 10)


def test_a_second_build_changes_no_key(gold_from, mirror_silver):
    first, second = gold_from(*mirror_silver()), gold_from(*mirror_silver())
    for table, key in [
        ("fact_transactions", "transaction_key"),
        ("fact_filings", "filing_key"),
        ("dim_member", "member_key"),
        ("dim_asset", "asset_key"),
    ]:
        assert first[table][key].to_pylist() == second[table][key].to_pylist()
    assert all(first[name].equals(second[name]) for name in first)


def test_transaction_keys_survive_renumbering_and_text_fixes(gold_from, mirror_silver):
    snapshot, records = mirror_silver()
    before = gold_from(snapshot, records)["fact_transactions"]
    reparsed = copy.deepcopy(records)
    for record in reparsed:
        for t in (record["ptr"] or {}).get("transactions", []):
            t["row"] *= 10
            t["description"] = (t["description"] or "") + " (re-parsed)"
            t["confidence"] = 0.5
    after = gold_from(snapshot, reparsed)["fact_transactions"]
    assert sorted(before["transaction_key"].to_pylist()) == sorted(after["transaction_key"].to_pylist())


def test_identical_rows_get_distinct_keys():
    keys = transaction_keys("2025-1", [row(1), row(2), row(3, ticker="MSFT")])
    assert len(set(keys)) == 3
    assert transaction_keys("2025-1", [row(7), row(8)]) == keys[:2]


def test_trending_is_anchored_on_the_latest_disclosure(gold_from):
    snapshot = {
        "filings": [
            _filing("1", filed="2024-03-01"),
            _filing("2", last="McClain", first="Lisa", sd="MI09", filed="2024-02-28"),
            _filing("3", filed="2024-01-01"),
        ]
    }
    records = [
        document_record(
            "1", ptr=_ptr([row(1, ticker="NVDA"), row(2, ticker="NVDA", transaction_type="S (partial)")])
        ),
        document_record("2", ptr=_ptr([row(1, ticker="NVDA"), row(2, ticker="AAPL")])),
        document_record("3", ptr=_ptr([row(1, ticker="TSLA")])),
    ]
    trending = gold_from(snapshot, records)["agg_trending_tickers"].to_pylist()
    week = [t for t in trending if t["window_days"] == 7]
    assert {t["anchor_date"] for t in trending} == {date(2024, 3, 1)}
    assert [t["ticker"] for t in week] == ["NVDA", "AAPL"]
    nvda = week[0]
    assert (nvda["rank"], nvda["buyers"], nvda["sellers"], nvda["buys"], nvda["sells"]) == (1, 2, 1, 2, 1)
    assert (nvda["amount_low_sum"], nvda["amount_high_sum"]) == (3003.0, 45000.0)
    quarter = {t["ticker"] for t in trending if t["window_days"] == 90}
    assert quarter == {"NVDA", "AAPL", "TSLA"}


def test_asset_types_keep_unknown_codes_without_meaning(gold_from):
    snapshot = {"filings": [_filing("1")]}
    records = [
        document_record("1", ptr=_ptr([row(1, asset_type="OP"), row(2, ticker=None, asset_type="ZZ")]))
    ]
    assets = {a["asset_type"]: a for a in gold_from(snapshot, records)["dim_asset"].to_pylist()}
    assert assets["OP"]["asset_type_meaning"] == "Options"
    assert assets["ZZ"]["asset_type_meaning"] is None
    assert {"ST", "OP", "CS", "GS", "PS", "MF", "EF"} <= ASSET_TYPES.keys()


def test_filings_without_a_document_are_missing_and_deduplicated(gold_from, mirror_silver):
    filings = {f["doc_id"]: f for f in gold_from(*mirror_silver())["fact_filings"].to_pylist()}
    assert len(filings) == 32  # 34 index rows, DocID 10072224 three times
    assert {d for d, f in filings.items() if f["extraction_status"] == "missing"} == {
        "20033421",
        "20033446",
        "10072224",
    }
    assert filings["20033421"]["member_key"] == "M001217"  # Moskowitz, resolved from the index alone


def test_member_stats_count_trades_and_late_filings(gold_from):
    snapshot = {"filings": [_filing("1", filed="2025-03-01"), _filing("2", filed="2025-01-05")]}
    records = [
        document_record("1", ptr=_ptr([row(1, transaction_date="2025-01-02"), row(2, ticker="MSFT")])),
        document_record("2", ptr=_ptr([row(1, transaction_date="2025-01-02", transaction_type="S")])),
    ]
    stats = gold_from(snapshot, records)["agg_member_stats"].to_pylist()
    assert len(stats) == 1
    pelosi = stats[0]
    assert (pelosi["member_key"], pelosi["trades"], pelosi["buys"], pelosi["sells"]) == ("P000197", 3, 2, 1)
    assert (pelosi["late_trades"], pelosi["late_filings"], pelosi["ptr_filings"], pelosi["tickers"]) == (
        2,
        1,
        2,
        2,
    )
    assert pelosi["median_lag_days"] == 58.0


def test_compaction_order_does_not_depend_on_listing_order():
    records = [document_record(d, ptr=_ptr([row(2), row(1)])) for d in ("3", "1", "2")]
    forward = compact_documents(silver_objects(records), 2025)
    backward = compact_documents(silver_objects(records[::-1]), 2025)
    assert forward[0].equals(backward[0]) and forward[1].equals(backward[1])
    assert forward[1].select(["doc_id", "row"]).to_pylist()[:2] == [
        {"doc_id": "1", "row": 1},
        {"doc_id": "1", "row": 2},
    ]


@pytest.mark.parametrize(
    "damage",
    [
        {"extraction_status": "done"},
        {"doc_id": "999"},
        {"filing_date": "01/17/2025"},
        {"ptr": {"transactions": [row(1, amount_low="lots")]}},
        {"ptr": {"transactions": [row(1), row(1)]}},
        {"ptr": {"transactions": [row(1, confidence=7)]}},
        {"warnings": "not a list"},
    ],
)
def test_malformed_records_are_reported_with_their_key(damage):
    record = document_record("1", ptr=_ptr([row(1)])) | damage
    key = keys.document_key(2025, "1")
    documents, transactions, failures = compact_documents([SilverObject(key, record)], 2025)
    assert documents.num_rows == transactions.num_rows == 0
    assert [f.key for f in failures] == [key]


def test_repeated_index_rows_collapse_to_one():
    table, failures = compact_filings(
        {"filings": [_filing("1", filed="2025-01-01"), _filing("1", filed="2025-01-03"), _filing("0")]},
        2025,
        "k",
    )
    assert failures == []
    assert table.to_pylist()[0]["doc_id"] == "0"
    assert table.to_pylist()[1]["filing_date"] == date(2025, 1, 3)
