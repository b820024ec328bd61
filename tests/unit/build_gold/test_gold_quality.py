"""Each quality check passes on the mirror's Gold and fails on crafted bad data."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from services.build_gold.compact import SilverFailure
from services.build_gold.quality import CHECKS, flag_rows, run_checks

TODAY = date(2025, 11, 26)


@pytest.fixture
def gold(gold_from, mirror_silver) -> dict[str, pa.Table]:
    return gold_from(*mirror_silver())


def _replace(table: pa.Table, column: str, index: int, value: object) -> pa.Table:
    values = table[column].to_pylist()
    values[index] = value
    position = table.schema.get_field_index(column)
    return table.set_column(
        position, table.schema.field(column), pa.array(values, table.schema.field(column).type)
    )


def _failed(gold: dict[str, pa.Table], **kwargs) -> list[str]:
    return run_checks(gold, today=TODAY, **kwargs).failed_checks


def test_the_mirror_passes_every_check(gold):
    report = run_checks(gold, today=TODAY, previous_counts={n: t.num_rows for n, t in gold.items()})
    assert report.passed and report.failed_checks == [] and report.flagged_checks == []
    assert [c.name for c in report.checks] == list(CHECKS)
    assert {c.name: c.severity for c in report.checks} == {name: spec[0] for name, spec in CHECKS.items()}


def test_duplicate_key(gold):
    facts = gold["fact_transactions"]
    gold["fact_transactions"] = pa.concat_tables([facts, facts.slice(0, 1)])
    assert _failed(gold) == ["unique_keys"]


def test_low_above_high(gold):
    gold["fact_transactions"] = _replace(gold["fact_transactions"], "amount_low", 3, 1e12)
    assert _failed(gold) == ["amount_bounds"]


def test_notification_before_transaction_is_flagged_not_blocking(gold):
    # Real filers print it (all 11 rows of 20032061): the row publishes, flagged and counted.
    facts = gold["fact_transactions"]
    traded = facts["transaction_date"][0].as_py()
    gold["fact_transactions"] = _replace(facts, "notification_date", 0, traded - timedelta(days=1))
    report = run_checks(gold, today=TODAY)
    assert report.passed and report.failed_checks == []
    assert report.flagged_checks == ["notification_not_before_transaction"]
    check = report.check("notification_not_before_transaction")
    assert (check.passed, check.severity, check.counts["notification_before_transaction"]) == (False, "flag", 1)
    assert report.to_dict()["flagged_checks"] == ["notification_not_before_transaction"]
    flagged = flag_rows(gold["fact_transactions"], TODAY)["quality_flags"].to_pylist()
    assert flagged[0] == ["notification_before_transaction"] and not any(flagged[1:])


def test_an_override_of_a_flag_check_is_unused(gold):
    facts = gold["fact_transactions"]
    gold["fact_transactions"] = _replace(facts, "notification_date", 0, date(2000, 1, 1))
    report = run_checks(gold, today=TODAY, overrides={"notification_not_before_transaction": "no"})
    assert not report.check("notification_not_before_transaction").overridden
    assert report.unused_overrides == {"notification_not_before_transaction": "no"}


def test_a_flag_check_that_crashes_blocks(gold):
    gold["fact_transactions"] = gold["fact_transactions"].drop_columns(["notification_date"])
    report = run_checks(gold, today=TODAY)
    assert "notification_not_before_transaction" in report.failed_checks
    assert report.check("notification_not_before_transaction").severity == "block"


def test_missing_foreign_key(gold):
    members = gold["dim_member"]
    gold["dim_member"] = members.filter(pc.not_equal(members["member_key"], "P000197"))
    report = run_checks(gold, today=TODAY)
    assert report.failed_checks == ["foreign_keys"]
    assert "fact_transactions.member_key->dim_member: P000197" in report.check("foreign_keys").samples


@pytest.mark.parametrize("when", [date(1999, 12, 31), TODAY + timedelta(days=2)])
def test_a_printed_date_out_of_range_is_flagged(gold, when):
    facts = gold["fact_transactions"]
    gold["fact_transactions"] = _replace(facts, "transaction_date", 0, when)
    report = run_checks(gold, today=TODAY)
    assert report.failed_checks == [] and "transaction_date_range" in report.flagged_checks
    assert report.check("transaction_date_range").counts["transaction_date_out_of_range"] == 1
    assert "transaction_date_out_of_range" in flag_rows(gold["fact_transactions"], TODAY)["quality_flags"][0].as_py()


@pytest.mark.parametrize("column", ["filing_date", "signature_date"])
def test_a_filing_date_the_pipeline_read_out_of_range_blocks(gold, column):
    filings = gold["fact_filings"]
    efiled = filings["rendering"].to_pylist().index("efiled")
    gold["fact_filings"] = _replace(filings, column, efiled, TODAY + timedelta(days=2))
    assert _failed(gold) == ["date_range"]


def test_volume_drop_against_the_previous_version(gold):
    previous = {"fact_transactions": 100, "fact_filings": 32, "dim_member": 30}
    report = run_checks(gold, today=TODAY, previous_counts=previous)
    assert report.failed_checks == ["volume"]
    assert report.check("volume").counts["fact_transactions.previous"] == 100
    grown = {"fact_transactions": 70, "fact_filings": 30, "dim_member": 30}
    assert run_checks(gold, today=TODAY, previous_counts=grown).passed


def test_schema_drift(gold):
    gold["dim_asset"] = gold["dim_asset"].drop_columns(["asset_type_meaning"])
    assert _failed(gold) == ["schema"]


def test_extracted_ptr_without_rows(gold):
    filings = gold["fact_filings"]
    pelosi = filings["doc_id"].to_pylist().index("20026590")
    gold["fact_filings"] = _replace(filings, "transaction_count", pelosi, 0)
    assert _failed(gold) == ["extracted_ptr_has_rows"]


def test_unreadable_silver(gold):
    failures = [SilverFailure("house-fd/documents/year=2025/doc_id=1/document.json", "unparseable JSON")]
    report = run_checks(gold, today=TODAY, silver_failures=failures, documents_read=30)
    assert report.failed_checks == ["silver_integrity"]
    assert report.check("silver_integrity").samples == [f"{failures[0].key}: unparseable JSON"]


def test_override_is_recorded_and_the_check_still_shows_failed(gold):
    gold["fact_transactions"] = _replace(gold["fact_transactions"], "amount_low", 3, 1e12)
    overrides = {"amount_bounds": "OPS-12: the filer wrote the range backwards", "volume": "not needed"}
    report = run_checks(gold, today=TODAY, overrides=overrides)
    assert report.passed and report.failed_checks == []
    check = report.check("amount_bounds")
    assert (check.passed, check.overridden, check.override_reason) == (
        False,
        True,
        overrides["amount_bounds"],
    )
    assert report.to_dict()["overridden_checks"] == ["amount_bounds"]
    assert report.unused_overrides == {"volume": "not needed"}
