"""The whole build against S3 (moto in-process): publish, reject, the pointer, carried years."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest
from conftest import HOUSE_HISTORY
from gold_records import document_record, row
from moto import mock_aws

from services.build_gold import store
from services.build_gold.build import build, built_from_current_filings
from services.common import keys, storage
from services.common.documents import GoldManifest, Pointer, read_pointer

SILVER, GOLD = "silver", "gold"
NOW = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=SILVER)
        client.create_bucket(Bucket=GOLD)
        yield client


def _put(s3, key: str, body: object) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    s3.put_object(Bucket=SILVER, Key=key, Body=data)


def _load_mirror(s3, mirror_silver) -> list[dict]:
    snapshot, records = mirror_silver()
    _put(s3, keys.filings_key(2025), snapshot)
    for record in records:
        _put(s3, keys.document_key(2025, record["doc_id"]), record)
    return records


def _build(s3, legislators: bytes, years=(2025,), **kwargs):
    # Former members too, as on AWS (parsed once: build caches the resolver by the files' bytes).
    kwargs.setdefault("former_legislators", HOUSE_HISTORY.read_bytes() if HOUSE_HISTORY.is_file() else None)
    return build(
        s3,
        silver_bucket=SILVER,
        gold_bucket=GOLD,
        years=list(years),
        run_id=kwargs.pop("run_id", "run-1"),
        legislators=legislators,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def _pointer(s3) -> dict:
    return json.loads(s3.get_object(Bucket=GOLD, Key=keys.GOLD_POINTER_KEY)["Body"].read())


def _gold_table(s3, key: str):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=GOLD, Key=key)["Body"].read()))


def test_publishes_the_mirror_and_a_second_run_changes_no_key(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    first = _build(s3, legislators_bytes)
    assert first.published and first.row_counts["fact_transactions"] == 72
    pointer = _pointer(s3)
    assert (pointer["version"], pointer["run_id"], pointer["quality"]["passed"]) == (
        first.version,
        "run-1",
        True,
    )
    [facts_key] = pointer["tables"]["fact_transactions"]
    assert facts_key == keys.gold_partition_key(first.version, "fact_transactions", 2025)
    facts = _gold_table(s3, facts_key)
    assert facts.num_rows == 72

    second = _build(s3, legislators_bytes, run_id="run-2", now=NOW.replace(hour=9))
    assert second.published and second.previous_version == first.version
    assert second.version > first.version
    assert first.version.split("-")[1] == second.version.split("-")[1]  # same content
    again = _gold_table(s3, _pointer(s3)["tables"]["fact_transactions"][0])
    assert sorted(again["transaction_key"].to_pylist()) == sorted(facts["transaction_key"].to_pylist())


def test_corrupted_silver_blocks_publishing_and_the_last_good_version_stays(
    s3, mirror_silver, legislators_bytes
):
    _load_mirror(s3, mirror_silver)
    good = _build(s3, legislators_bytes)
    broken = keys.document_key(2025, "20026590")
    _put(s3, broken, b'{"doc_id": "20026590", "transac')
    result = _build(s3, legislators_bytes, run_id="run-2", now=NOW.replace(hour=9))
    assert result.status == "rejected"
    assert "silver_integrity" in result.failed_checks
    assert _pointer(s3)["version"] == good.version
    manifest = json.loads(s3.get_object(Bucket=GOLD, Key=result.manifest_key)["Body"].read())
    assert manifest["status"] == "rejected"
    silver_check = next(c for c in manifest["quality"]["checks"] if c["name"] == "silver_integrity")
    assert silver_check["samples"][0].startswith(broken)


def test_a_missing_filings_snapshot_is_one_unreadable_object(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    s3.delete_object(Bucket=SILVER, Key=keys.filings_key(2025))
    result = _build(s3, legislators_bytes)
    assert result.status == "rejected"
    manifest = json.loads(s3.get_object(Bucket=GOLD, Key=result.manifest_key)["Body"].read())
    silver_check = next(c for c in manifest["quality"]["checks"] if c["name"] == "silver_integrity")
    assert silver_check["samples"] == [f"{keys.filings_key(2025)}: filings snapshot missing"]


def test_failing_check_rejects_then_an_override_publishes_with_the_reason(
    s3, mirror_silver, legislators_bytes
):
    records = _load_mirror(s3, mirror_silver)
    pelosi = next(r for r in records if r["doc_id"] == "20026590")
    pelosi["ptr"]["transactions"][0]["amount_low"] = 1e9  # above its high bound: a parse error
    _put(s3, keys.document_key(2025, "20026590"), pelosi)

    rejected = _build(s3, legislators_bytes)
    assert (rejected.status, rejected.failed_checks) == ("rejected", ["amount_bounds"])
    assert read_pointer(s3, GOLD) is None

    reason = "OPS-7: filer's typo confirmed against the PDF"
    result = _build(s3, legislators_bytes, overrides={"amount_bounds": reason})
    assert result.published
    [check] = [c for c in _pointer(s3)["quality"]["checks"] if c["name"] == "amount_bounds"]
    assert (check["passed"], check["overridden"], check["override_reason"]) == (False, True, reason)


def test_a_filers_inconsistency_publishes_with_the_row_flagged(s3, mirror_silver, legislators_bytes):
    records = _load_mirror(s3, mirror_silver)
    pelosi = next(r for r in records if r["doc_id"] == "20026590")
    first = pelosi["ptr"]["transactions"][0]
    first["notification_date"] = "2024-01-01"  # before the trade, as 20032061 prints it
    _put(s3, keys.document_key(2025, "20026590"), pelosi)

    result = _build(s3, legislators_bytes)
    assert result.published and result.report.flagged_checks == ["notification_not_before_transaction"]
    pointer = _pointer(s3)
    assert pointer["quality"]["flagged_checks"] == ["notification_not_before_transaction"]
    [facts_key] = pointer["tables"]["fact_transactions"]
    facts = _gold_table(s3, facts_key).to_pylist()
    flagged = [(f["doc_id"], f["row"], f["quality_flags"]) for f in facts if f["quality_flags"]]
    assert flagged == [("20026590", first["row"], ["notification_before_transaction"])]


def test_volume_drop_against_the_live_version_rejects(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    good = _build(s3, legislators_bytes)
    s3.delete_object(Bucket=SILVER, Key=keys.document_key(2025, "20026658"))  # 56 of 72 trades
    result = _build(s3, legislators_bytes, now=NOW.replace(hour=9))
    assert result.failed_checks == ["volume"]
    assert _pointer(s3)["version"] == good.version


def test_concurrent_writers_of_one_year_lose_no_row(s3, legislators_bytes):
    filings = [
        {"doc_id": str(20000000 + i), "year": 2025, "prefix": None, "first": "Nancy", "last": "Pelosi",
         "suffix": None, "filing_type": "P", "state_district": "CA11", "filing_date": "2025-02-01"}
        for i in range(1001)
    ]  # fmt: skip
    _put(s3, keys.filings_key(2025), {"year": 2025, "filings": filings})

    def write(filing: dict) -> None:
        record = document_record(filing["doc_id"], ptr={"transactions": [row(1), row(2, ticker="MSFT")]})
        _put(s3, keys.document_key(2025, filing["doc_id"]), record)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, filings))
    result = _build(s3, legislators_bytes)
    assert result.published  # 1,001 documents span more than one listing page
    assert (result.row_counts["fact_filings"], result.row_counts["fact_transactions"]) == (1001, 2002)


def test_other_years_are_carried_forward(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    filing = {"doc_id": "20020001", "year": 2024, "first": "Nancy", "last": "Pelosi", "filing_type": "P",
              "state_district": "CA11", "filing_date": "2024-06-01"}  # fmt: skip
    _put(s3, keys.filings_key(2024), {"year": 2024, "filings": [filing]})
    record = document_record("20020001", year=2024, filing_date="2024-06-01", ptr={"transactions": [row(1, transaction_date="2024-05-20", notification_date="2024-05-21")]})  # fmt: skip
    _put(s3, keys.document_key(2024, "20020001"), record)
    _build(s3, legislators_bytes, years=[2024, 2025])

    result = _build(s3, legislators_bytes, years=[2025], now=NOW.replace(hour=9))
    assert (result.years, result.rebuilt_years) == ([2024, 2025], [2025])
    assert result.row_counts["fact_transactions"] == 73
    pointer = _pointer(s3)
    assert pointer["silver_tables"]["transactions"]["2024"].startswith(
        "house-fd/tables/transactions/year=2024/"
    )
    assert len(pointer["tables"]["fact_transactions"]) == 2


def test_a_stale_build_cannot_move_the_pointer_back(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    _build(s3, legislators_bytes)
    stale = read_pointer(s3, GOLD)
    _build(s3, legislators_bytes, now=NOW.replace(hour=9))
    with pytest.raises(store.PointerConflict):
        store.move_pointer(s3, GOLD, GoldManifest(version="old"), stale)
    with pytest.raises(store.PointerConflict):
        store.move_pointer(s3, GOLD, GoldManifest(version="old"), None)


def test_a_build_beaten_to_the_pointer_is_built_again_on_the_newer_version(s3, mirror_silver, legislators_bytes,
                                                                          monkeypatch):
    """Another build publishes while this one runs: this one's first move is refused, and it is
    built again in the same call on top of the other, rather than waiting out SQS's visibility."""
    from services.build_gold import build as build_module

    _load_mirror(s3, mirror_silver)
    first = _build(s3, legislators_bytes)
    real_move, raced = store.move_pointer, []

    def racing(s3_, bucket, manifest, expected):
        if not raced:  # the other build runs to its end first (its own move is not raced)
            raced.append(None)
            raced[0] = _build(s3, legislators_bytes, now=NOW.replace(hour=10), run_id="run-other").version
        return real_move(s3_, bucket, manifest, expected)

    monkeypatch.setattr(store, "move_pointer", racing)
    result = build_module.build_on_latest(
        s3, silver_bucket=SILVER, gold_bucket=GOLD, years=[2025], run_id="run-2", legislators=legislators_bytes,
        former_legislators=HOUSE_HISTORY.read_bytes() if HOUSE_HISTORY.is_file() else None, now=NOW.replace(hour=11),
    )  # fmt: skip
    assert result.published and result.previous_version == raced[0] != first.version
    assert read_pointer(s3, GOLD).version == result.version

    monkeypatch.setattr(store, "move_pointer", lambda *a: (_ for _ in ()).throw(store.PointerConflict("always")))
    with pytest.raises(store.PointerConflict):  # lost every time: left to SQS
        build_module.build_on_latest(s3, silver_bucket=SILVER, gold_bucket=GOLD, years=[2025], run_id="run-3",
                                     legislators=legislators_bytes, now=NOW.replace(hour=12))  # fmt: skip


def test_legislators_are_read_from_s3_like_any_source(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    s3.put_object(Bucket=SILVER, Key="reference/legislators-current.yaml", Body=legislators_bytes)
    result = build(
        s3,
        silver_bucket=SILVER,
        gold_bucket=GOLD,
        years=[2025],
        run_id="run-1",
        reference_bucket=SILVER,
        reference_key="reference/legislators-current.yaml",
        now=NOW,
    )
    assert result.published


def _put_snapshot(s3, snapshot: dict, *, with_digest: bool = True) -> None:
    metadata = {keys.FILINGS_DIGEST_METADATA: storage.json_digest(snapshot["filings"])} if with_digest else {}
    s3.put_object(Bucket=SILVER, Key=keys.filings_key(2025), Body=json.dumps(snapshot).encode(), Metadata=metadata)


def test_a_run_without_documents_keeps_gold_only_while_the_filings_are_the_same(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    snapshot, _ = mirror_silver()
    _put_snapshot(s3, snapshot)
    _build(s3, legislators_bytes)
    live = read_pointer(s3, GOLD)
    assert built_from_current_filings(s3, SILVER, live, [2025])

    # The Clerk's daily rebuild: new zip, new run, same rows.
    _put_snapshot(s3, {**snapshot, "run_id": "run-2", "index_key": "house-fd/index/year=2025/sha256=other/2025FD.zip"})
    assert built_from_current_filings(s3, SILVER, live, [2025])
    _put_snapshot(s3, snapshot, with_digest=False)  # written before the digest metadata existed
    assert built_from_current_filings(s3, SILVER, live, [2025])

    # A filing dropped from the index, with no new document: Gold must be rebuilt.
    dropped = {**snapshot, "filings": snapshot["filings"][1:]}
    _put_snapshot(s3, dropped)
    assert not built_from_current_filings(s3, SILVER, live, [2025])
    _put_snapshot(s3, dropped, with_digest=False)
    assert not built_from_current_filings(s3, SILVER, live, [2025])
    # A year whose index exists neither then nor now does not force a rebuild.
    assert built_from_current_filings(s3, SILVER, live, [2024]) is True

    rebuilt = _build(s3, legislators_bytes, run_id="run-3", now=NOW.replace(hour=9))
    now_live = read_pointer(s3, GOLD)
    assert rebuilt.published and now_live.version == rebuilt.version != live.version
    filings_key = now_live.manifest.silver_tables["filings"]["2025"]
    indexed = pq.read_table(io.BytesIO(s3.get_object(Bucket=SILVER, Key=filings_key)["Body"].read()))
    assert snapshot["filings"][0]["doc_id"] not in indexed.column("doc_id").to_pylist()
    assert built_from_current_filings(s3, SILVER, now_live, [2025])


def test_a_version_without_recorded_digests_is_rebuilt_once(s3, mirror_silver, legislators_bytes):
    _load_mirror(s3, mirror_silver)
    _build(s3, legislators_bytes)
    live = read_pointer(s3, GOLD)
    legacy = Pointer(live.manifest.model_copy(update={"filings_digests": None, "format_version": 1}), live.etag)
    assert not built_from_current_filings(s3, SILVER, legacy, [2025])
