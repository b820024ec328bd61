"""Corrections supersede what they correct; a trade filed twice counts once; deleted trades count nowhere."""

from __future__ import annotations

from datetime import date

import pytest
from gold_records import document_record, real_records, row, silver_objects

from services.build_gold.compact import compact_year
from services.build_gold.corrections import TradeRow, field_score, reconcile
from services.build_gold.quality import DEFAULT_CONFIG, check_trade_chain, report_corrections
from services.build_gold.transform import SilverTables, build_gold_tables
from services.common import keys


def _trade(key: str, filing: str, order: int, status: str = "New", **fields) -> TradeRow:
    base = dict(
        key=key, filing_key=filing, member_key="M000001", filing_order=(order,), row=fields.pop("row", 1),
        filing_status=status, transaction_id=None, owner=None, ticker="AAPL", asset_name="Apple Inc. - Common Stock",
        transaction_type="P", transaction_date=date(2025, 3, 3), amount_low=1001.0, amount_high=15000.0,
        subholding_of=None,
    )  # fmt: skip
    return TradeRow(**(base | fields))


# --- the rules, row by row --------------------------------------------------------------------------


def test_an_amendment_supersedes_its_original_by_fields():
    out = reconcile([
        _trade("orig", "f1", 1),
        _trade("other", "f1", 1, row=2, ticker="MSFT", asset_name="Microsoft"),
        _trade("amend", "f2", 2, "Amended", amount_low=15001.0, amount_high=50000.0),
    ])  # fmt: skip
    assert (out["orig"].trade_status, out["orig"].superseded_by, out["orig"].counted) == ("amended", "amend", False)
    assert (out["amend"].trade_status, out["amend"].supersedes, out["amend"].counted) == ("active", "orig", True)
    assert (out["amend"].correction_match, out["amend"].correction_score) == ("fields", 0.9)
    assert out["other"].counted


def test_a_printed_transaction_id_follows_the_chain_to_its_latest_link():
    # Amended (ID printed, original linked by fields), then deleted citing the same ID with other
    # fields changed again: the ID, not the fields, finds the amendment.
    out = reconcile([
        _trade("orig", "f1", 1),
        _trade("amend", "f2", 2, "Amended", transaction_id="2000137338", transaction_date=date(2025, 3, 4)),
        _trade("delete", "f3", 3, "Deleted", transaction_id="2000137338", ticker=None, asset_name="Apple",
               owner="SP", transaction_type="S"),
    ])  # fmt: skip
    assert out["amend"].supersedes == "orig" and out["amend"].trade_status == "deleted"
    assert (out["delete"].supersedes, out["delete"].correction_match, out["delete"].trade_status) == (
        "amend", "transaction_id", "deletion",
    )
    assert not any(o.counted for o in out.values())


def test_a_tie_is_flagged_never_guessed():
    out = reconcile([
        _trade("a", "f1", 1, subholding_of="Trust 3"),
        _trade("b", "f1", 1, row=2, subholding_of="Trust 4"),
        _trade("fix", "f2", 2, "Amended", amount_low=15001.0, amount_high=50000.0),
    ])  # fmt: skip
    fix = out["fix"]
    assert (fix.correction_match, fix.supersedes, fix.correction_candidates) == ("ambiguous", None, ["a", "b"])
    # Neither candidate is touched; the amendment is the filer's latest word and counts.
    assert out["a"].counted and out["b"].counted and fix.counted


def test_a_correction_never_reaches_forward_or_into_another_filer():
    out = reconcile([
        _trade("later", "f3", 3),
        _trade("theirs", "f0", 0, member_key="X000001"),
        _trade("del", "f2", 2, "Deleted"),
    ])  # fmt: skip
    assert out["del"].correction_match == "not_found" and not out["del"].counted
    assert out["later"].counted and out["theirs"].counted


def test_field_score_needs_the_same_asset():
    original = _trade("o", "f1", 1)
    assert field_score(_trade("c", "f2", 2, ticker="MSFT"), original) == 0.0
    assert field_score(_trade("c", "f2", 2, ticker=None, asset_name="APPLE INC"), original) == 1.0
    assert field_score(_trade("c", "f2", 2, transaction_date=date(2025, 3, 9), transaction_type="S"), original) == 0.65


def test_the_same_trade_filed_twice_counts_once_with_both_sources():
    # A paper PTR holding a print-out of an e-filed one, read by OCR: no ticker read on one row,
    # the asset name spelled otherwise; a row of one filing twice stays two trades.
    efiled = [_trade("e1", "2025-20032129", 2), _trade("e2", "2025-20032129", 2, row=2),
              _trade("e3", "2025-20032129", 2, row=3, ticker="NVDA", asset_name="NVIDIA Corporation")]  # fmt: skip
    paper = [_trade("p1", "2025-8221212", 1, source="ocr", ticker=None, asset_name="APPLE INC COMMON STOCK"),
             _trade("p2", "2025-8221212", 1, row=2, source="ocr"),
             _trade("p3", "2025-8221212", 1, row=3, source="ocr", ticker="NVDA", asset_name="NVIDIA CORP",
                    filing_status=None)]  # fmt: skip
    out = reconcile(efiled + paper)
    assert [out[k].trade_status for k in ("p1", "p2", "p3")] == ["duplicate"] * 3
    assert {out["p1"].duplicate_of, out["p2"].duplicate_of} == {"e1", "e2"} and out["p3"].duplicate_of == "e3"
    assert all(out[k].counted and out[k].also_filed_in == ["2025-8221212"] for k in ("e1", "e2", "e3"))
    # A different amount or owner is a different trade.
    other = reconcile([_trade("a", "f1", 1), _trade("b", "f2", 2, owner="SP"), _trade("c", "f3", 3, amount_high=50000.0)])
    assert all(o.counted for o in other.values())


def test_an_ocr_row_pairs_despite_what_the_reader_could_not_read():
    # The reader cut the name at the cell's edge ('aiwan ... Manufacturin') and read no type or
    # amount: unknown, not different. An e-filed row with no amount is not a wildcard.
    tsm = dict(ticker="TSM", asset_name="Taiwan Semiconductor Manufacturing Company Ltd.")
    out = reconcile([
        _trade("e", "f1", 1, **tsm),
        _trade("o", "f2", 2, source="ocr", ticker=None, asset_name="aiwan Semiconductor Manufacturin:",
               transaction_type=None, amount_low=None, amount_high=None, filing_status=None),
        _trade("x", "f3", 3, **tsm, amount_low=None, amount_high=None),
        _trade("s", "f4", 4, source="ocr", ticker=None, asset_name="Tesla, Inc. - Common St", transaction_type=None),
    ])  # fmt: skip
    assert (out["o"].trade_status, out["o"].duplicate_of) == ("duplicate", "e")
    assert out["x"].counted and out["s"].counted  # another amount; another asset


# --- real filings of mirror-2025 ------------------------------------------------------------------

# Bresnahan amends NFLX (20030312 -> 20030336); Morrison deletes two bond purchases (20030313 ->
# 20030475, with new trades in the same filing); Lee amends WBD (20026513 -> 20030875) and a 2023
# BABA trade whose original is not in 2025; Manning deletes two 2024 trades (originals not in 2025).
REAL = ["20030312", "20030336", "20030313", "20030475", "20026513", "20030875", "20029046"]


@pytest.fixture(scope="module")
def real_gold(index_2025, mirror_2025, house_resolver):
    records = real_records(mirror_2025, REAL, index_2025)
    filings = [r for r in index_2025 if r["doc_id"] in REAL]
    tables, failures = compact_year({"year": 2025, "filings": filings}, keys.filings_key(2025), silver_objects(records), 2025)
    assert failures == []
    return build_gold_tables(SilverTables(**tables.as_dict()), house_resolver)


def _facts(gold, doc_id):
    return {f["row"]: f for f in gold["fact_transactions"].to_pylist() if f["doc_id"] == doc_id}


def test_real_amended_row_supersedes_its_original(real_gold):
    original, amended = _facts(real_gold, "20030312")[4], _facts(real_gold, "20030336")[1]
    assert (original["ticker"], original["transaction_date"]) == ("NFLX", date(2025, 5, 17))
    assert (amended["filing_status"], amended["transaction_date"]) == ("Amended", date(2025, 4, 17))
    assert amended["transaction_id"] == "2000137143" and original["transaction_id"] is None
    assert (original["trade_status"], original["superseded_by"], original["counted"]) == (
        "amended", amended["transaction_key"], False,
    )
    assert (amended["trade_status"], amended["supersedes"], amended["correction_match"], amended["correction_score"]) == (
        "active", original["transaction_key"], "fields", 0.8,
    )
    lee = _facts(real_gold, "20030875")
    assert lee[2]["correction_score"] == 1.0 and lee[2]["supersedes"] == _facts(real_gold, "20026513")[2]["transaction_key"]
    assert lee[1]["correction_match"] == "not_found" and lee[1]["counted"]  # its 2023 original is in 2024's data


def test_real_deleted_rows_leave_every_count(real_gold):
    deleted = _facts(real_gold, "20030475")
    removed = {deleted[1]["supersedes"], deleted[3]["supersedes"]}
    originals = {f["transaction_key"]: f for f in _facts(real_gold, "20030313").values()}
    assert removed <= originals.keys() and all(originals[k]["trade_status"] == "deleted" for k in removed)
    assert (deleted[1]["trade_status"], deleted[1]["counted"], deleted[1]["correction_match"]) == ("deletion", False, "fields")
    assert deleted[2]["trade_status"] == "active"  # a new trade in the same filing
    manning = _facts(real_gold, "20029046")
    assert [(f["trade_status"], f["correction_match"]) for f in manning.values()] == [("deletion", "not_found")] * 2
    # Morrison's statistics count only her active rows.
    facts = real_gold["fact_transactions"].to_pylist()
    morrison = [f for f in facts if f["member_key"] == deleted[1]["member_key"]]
    stats = {s["member_key"]: s for s in real_gold["agg_member_stats"].to_pylist()}[deleted[1]["member_key"]]
    assert stats["trades"] == sum(f["counted"] for f in morrison) == len(morrison) - 4
    assert (deleted[1]["bioguide_id"], deleted[1]["party"], deleted[1]["district"]) == ("M001234", "Democrat", 3)
    report = report_corrections(real_gold, date(2025, 12, 1), DEFAULT_CONFIG)
    assert report.counts["status.deleted"] == 2 and report.counts["status.deletion"] == 4
    # Flagged (published, never blocking): Manning's two deletions and Lee's BABA amendment.
    assert not report.passed and report.counts["correction_without_original"] == 3
    assert check_trade_chain(real_gold).passed


def test_a_deleted_trade_leaves_trending_and_member_stats(resolver):
    filings = [{"doc_id": d, "year": 2025, "first": "Nancy", "last": "Pelosi", "filing_type": "P",
                "state_district": "CA11", "filing_date": f} for d, f in (("20000001", "2025-02-01"), ("20000002", "2025-03-01"))]  # fmt: skip
    records = [
        document_record("20000001", filing_date="2025-02-01", ptr={"transactions": [row(1), row(2, ticker="NVDA")]}),
        document_record("20000002", filing_date="2025-03-01", ptr={"transactions": [row(1, filing_status="Deleted")]}),
    ]
    tables, _ = compact_year({"year": 2025, "filings": filings}, keys.filings_key(2025), silver_objects(records), 2025)
    gold = build_gold_tables(SilverTables(**tables.as_dict()), resolver)
    assert [f["trade_status"] for f in gold["fact_transactions"].to_pylist()] == ["deleted", "active", "deletion"]
    assert {t["ticker"] for t in gold["agg_trending_tickers"].to_pylist()} == {"NVDA"}
    stats = gold["agg_member_stats"].to_pylist()[0]
    assert (stats["trades"], stats["tickers"], stats["ptr_filings"]) == (1, 1, 2)
