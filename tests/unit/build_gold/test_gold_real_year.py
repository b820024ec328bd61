"""The quality gate on the whole real 2025 year: silver made by the real parser from every PTR PDF
of `mirror-2025`, Gold built from it, and the gate must publish with the filers' own
inconsistencies flagged and counted.

Cost (measured on this machine): about 26 CPU-s for the file, most of it parsing the 417 PTR PDFs
once per session (about 16 CPU-s).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from gold_records import index_filings, real_year_record, silver_objects

from services.build_gold.compact import compact_year
from services.build_gold.quality import flag_rows, run_checks
from services.build_gold.transform import SilverTables, build_gold_tables
from services.common import keys
from services.common.config import shared_fixtures

MIRROR_2025 = shared_fixtures() / "house-clerk" / "mirror-2025" / "public_disc"
PTR_PDFS = MIRROR_2025 / "ptr-pdfs" / "2025"
TODAY = date(2025, 12, 1)  # after the index's last filing


@pytest.fixture(scope="session")
def real_year() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(index rows, silver records of every PTR whose PDF is in the mirror), parsed once."""
    index = MIRROR_2025 / "financial-pdfs" / "2025FD.zip"
    if not index.exists():
        pytest.skip(f"shared fixture absent: {index}")
    filings = index_filings(index.read_bytes())
    ptrs = [f for f in filings if f["filing_type"] == "P" and (PTR_PDFS / f"{f['doc_id']}.pdf").exists()]
    # In fresh processes: both cores, and no coverage tracing of the parser over a whole year (its
    # lines are covered by its own tests; tracing them here doubled the suite's longest setup).
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        records = list(
            pool.map(real_year_record, ptrs, [PTR_PDFS / f"{f['doc_id']}.pdf" for f in ptrs], chunksize=16)
        )
    return filings, records


@pytest.fixture(scope="session")
def real_gold(real_year, resolver) -> dict[str, pa.Table]:
    filings, records = real_year
    snapshot = {"year": 2025, "filings": filings}
    tables, failures = compact_year(snapshot, keys.filings_key(2025), silver_objects(records), 2025)
    assert failures == []
    gold = build_gold_tables(SilverTables(**tables.as_dict()), resolver)
    gold["fact_transactions"] = flag_rows(gold["fact_transactions"], TODAY)
    return gold


def test_every_efiled_ptr_yields_rows_or_a_recorded_reason(real_year):
    _, records = real_year
    assert len(records) == 417
    efiled = [r for r in records if r["rendering"] == "efiled" or r["extraction_status"] == "extract_failed"]
    assert len(efiled) == 374
    for record in efiled:
        if record["extraction_status"] == "extract_failed":
            assert record["failure_reason"], record["doc_id"]
        else:
            assert record["ptr"]["transactions"], record["doc_id"]
    scanned = [r for r in records if r["rendering"] == "scanned"]
    assert len(scanned) == 43 and {r["extraction_status"] for r in scanned} == {"needs_ocr"}


def test_the_gate_publishes_the_real_year_with_the_filers_inconsistencies_flagged(real_year, real_gold):
    _, records = real_year
    report = run_checks(real_gold, today=TODAY, documents_read=len(records))
    assert report.passed, report.to_dict()["failed_checks"]
    assert report.failed_checks == []
    rows = sum(len(r["ptr"]["transactions"]) for r in records if r["ptr"])
    assert real_gold["fact_transactions"].num_rows == rows > 6000

    check = report.check("notification_not_before_transaction")
    assert check.severity == "flag" and "notification_not_before_transaction" in report.flagged_checks
    facts = real_gold["fact_transactions"].select(["doc_id", "quality_flags"]).to_pylist()
    flagged = [f for f in facts if "notification_before_transaction" in f["quality_flags"]]
    assert check.counts["notification_before_transaction"] == len(flagged) >= 11
    # All 11 rows of 20032061 print a notification date two days before the trade.
    assert sum(f["doc_id"] == "20032061" for f in flagged) == 11
    assert report.check("transaction_date_range").passed


def test_dates_after_the_disclosure_are_flagged_not_blocked(real_year, real_gold):
    """Filers misprint: 20033330 reports a trade of 10/24 in a filing of 10/22."""
    _, records = real_year
    report = run_checks(real_gold, today=TODAY, documents_read=len(records))
    check = report.check("dates_not_after_disclosure")
    assert check.severity == "flag" and report.passed
    facts = real_gold["fact_transactions"].select(["doc_id", "quality_flags"]).to_pylist()
    late = {f["doc_id"] for f in facts if "transaction_after_disclosure" in f["quality_flags"]}
    assert "20033330" in late and check.counts["transaction_after_disclosure"] == sum(
        "transaction_after_disclosure" in f["quality_flags"] for f in facts)


def test_an_amendment_is_late_only_if_its_trade_was_disclosed_late(real_gold):
    """Cisneros' RAL (20030901 row 17, 36 days) amended in 20031022: the amendment filed 66 days
    after the trade does not make it late."""
    facts = real_gold["fact_transactions"].to_pylist()
    amended = next(f for f in facts if f["doc_id"] == "20031022" and f["ticker"] == "RAL" and f["counted"])
    original = next(f for f in facts if f["transaction_key"] == amended["supersedes"])
    assert original["doc_id"] == "20030901"
    first_disclosed = (original["disclosure_date"] - amended["transaction_date"]).days
    assert (amended["disclosure_lag_days"], amended["is_late"], amended["lag_basis"]) == (
        first_disclosed, False, "original_disclosure") and first_disclosed == 37


def test_a_member_who_moved_districts_shows_the_seat_he_holds(real_gold):
    mccormick = next(m for m in real_gold["dim_member"].to_pylist() if m["bioguide_id"] == "M001218")
    assert (mccormick["state_district"], mccormick["district"]) == ("GA07", 7)
