"""Gold retention against S3 (moto in-process): what stays, what goes, and that kept versions stay whole."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from gold_records import document_record, row
from moto import mock_aws
from typer.testing import CliRunner

from services.build_gold import retention
from services.build_gold.build import _version, build
from services.build_gold.retention import Policy
from services.common import keys, objects
from services.common.documents import read_pointer

SILVER, GOLD = "silver", "gold"
NOW = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
PELOSI = {"first": "Nancy", "last": "Pelosi", "filing_type": "P", "state_district": "CA11"}


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (SILVER, GOLD):
            client.create_bucket(Bucket=bucket)
            # As in the template: deletes leave noncurrent versions (expired by the lifecycle rule).
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _put(s3, key: str, body: object, bucket: str = SILVER) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=data)


def _silver_years(s3) -> None:
    """2024: one PTR; 2025: three. Dates early in each year, so builds months later pass date_range."""
    _put(s3, keys.filings_key(2024), {"year": 2024, "filings": [
        {"doc_id": "20020001", "year": 2024, "filing_date": "2024-06-01", **PELOSI}]})
    _put(s3, keys.document_key(2024, "20020001"), document_record(
        "20020001", year=2024, filing_date="2024-06-01",
        ptr={"transactions": [row(1, transaction_date="2024-05-20", notification_date="2024-05-21")]}))
    filings = [{"doc_id": f"2003000{i}", "year": 2025, "filing_date": "2025-02-01", **PELOSI} for i in (1, 2, 3)]
    _put(s3, keys.filings_key(2025), {"year": 2025, "filings": filings})
    for filing in filings:
        _restore(s3, filing["doc_id"])


def _restore(s3, doc_id: str) -> None:
    record = document_record(doc_id, filing_date="2025-02-01", ptr={"transactions": [row(1), row(2, ticker="MSFT")]})
    _put(s3, keys.document_key(2025, doc_id), record)


def _build(s3, legislators: bytes, now: datetime, years=(2025,)):
    return build(s3, silver_bucket=SILVER, gold_bucket=GOLD, years=list(years), run_id=f"run-{now:%m%d%H}",
                 legislators=legislators, now=now)  # fmt: skip


def _rejected_build(s3, legislators: bytes, now: datetime):
    _put(s3, keys.document_key(2025, "20030001"), b'{"doc_id": "20030001", "trunc')
    result = _build(s3, legislators, now)
    _restore(s3, "20030001")
    assert result.status == "rejected" and "silver_integrity" in result.failed_checks
    return result


def _keys(s3, bucket: str, prefix: str = "") -> set[str]:
    found = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found |= {item["Key"] for item in page.get("Contents", [])}
    return set(found)


def _everything(s3) -> tuple[set[str], set[str]]:
    return _keys(s3, GOLD), _keys(s3, SILVER)


def _manifest(s3, version: str) -> dict:
    return json.loads(s3.get_object(Bucket=GOLD, Key=keys.gold_manifest_key(version))["Body"].read())


def _assert_whole(s3, version: str) -> None:
    """The key invariant: every key the version's manifest references exists and reads as Parquet."""
    manifest = _manifest(s3, version)
    silver = [k for by_year in manifest["silver_tables"].values() for k in by_year.values()]
    gold = [k for table_keys in manifest["tables"].values() for k in table_keys]
    assert silver and gold
    for bucket, referenced in ((SILVER, silver), (GOLD, gold)):
        for key in referenced:
            pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def _silver_of(s3, version: str) -> set[str]:
    return {k for k in _keys(s3, SILVER, keys.SILVER_TABLES_PREFIX) if keys.silver_table_version(k) == version}


def _fake_version(at: datetime, tag: str) -> str:
    return _version(at, [tag.encode()])


@pytest.fixture
def history(s3, legislators_bytes):
    """Seven builds over two months; the last one (E) is live. 2024 is built by A, carried by the
    next five, and built again by E."""
    _silver_years(s3)
    day = timedelta(days=1)
    v = {}
    v["A"] = _build(s3, legislators_bytes, NOW - 60 * day, years=(2024, 2025))
    v["R_old"] = _rejected_build(s3, legislators_bytes, NOW - 50 * day)
    for name, days in (("B", 40), ("C", 30), ("D", 20)):
        v[name] = _build(s3, legislators_bytes, NOW - days * day)
    v["R_young"] = _rejected_build(s3, legislators_bytes, NOW - 10 * day)
    v["E"] = _build(s3, legislators_bytes, NOW - 5 * day, years=(2024, 2025))
    assert all(v[n].published for n in "ABCDE")
    assert read_pointer(s3, GOLD).version == v["E"].version
    assert [r.rebuilt_years for r in v.values()] == [[2024, 2025]] + [[2025]] * 5 + [[2024, 2025]]
    return {name: result.version for name, result in v.items()}


def test_version_ids_sort_by_build_time():
    # Retention relies on it: ids are `YYYYMMDDTHHMMSSZ-<8 hex>`, fixed width, UTC.
    times = [NOW - timedelta(days=400), NOW - timedelta(seconds=1), NOW, NOW + timedelta(hours=10)]
    ids = [_version(t, [f"payload {i}".encode()]) for i, t in enumerate(times)]
    assert sorted(ids) == ids == sorted(ids, key=retention.version_time)
    assert [retention.version_time(i) for i in ids] == times
    for junk in ("old", "20251126T080000Z", "20251399T080000Z-0123abcd", "20251126T080000Z-XYZ"):
        assert retention.version_time(junk) is None


def test_prune_keeps_the_live_the_previous_n_and_young_rejected_versions_whole(s3, history):
    v = history
    policy = Policy(keep_versions=2, keep_rejected_days=30)
    # A build in progress: silver tables written, no manifest yet; newer than the oldest kept version.
    building = _fake_version(NOW - timedelta(days=7), "building")
    in_progress = keys.silver_table_key("filings", 2025, building)
    _put(s3, in_progress, b"parquet to come")
    before = _everything(s3)

    dry = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW, dry_run=True)
    assert _everything(s3) == before  # a dry run deletes nothing
    assert dry.applied is None
    assert dry.plan.deleted_versions == [v["B"], v["R_old"], v["A"]]  # newest first
    assert set(dry.plan.kept_versions) == {v["E"], v["D"], v["C"], v["R_young"]}
    assert in_progress not in dry.plan.silver_keys
    reasons = {d.version: d.reason for d in dry.plan.decisions}
    assert reasons[v["E"]] == "live" and reasons[v["R_old"]].startswith("rejected, built 50 days ago")
    assert reasons[v["B"]] == "previously live, beyond the 2 kept" and reasons[v["C"]] == "previously live (2 of 2 kept)"

    pruned = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW)
    assert pruned.plan == dry.plan
    assert (pruned.applied.gold_objects, pruned.applied.silver_objects) == (
        len(dry.plan.gold_keys), len(dry.plan.silver_keys))  # fmt: skip
    gold, silver = _everything(s3)
    assert gold == before[0] - set(dry.plan.gold_keys) and silver == before[1] - set(dry.plan.silver_keys)

    # Older versions are gone, Gold files and manifest.
    for name in ("A", "R_old", "B"):
        assert _keys(s3, GOLD, keys.gold_version_prefix(v[name])) == set(), name
    # The live one, the two before it and the young rejected one are complete and readable.
    assert read_pointer(s3, GOLD).version == v["E"]
    for name in ("E", "D", "C", "R_young"):
        _assert_whole(s3, v[name])
    for name in ("D", "C", "R_young"):
        assert _manifest(s3, v[name])["silver_tables"]["filings"]["2024"] == keys.silver_table_key(
            "filings", 2024, v["A"]
        )
    # A's 2024 tables are referenced by kept manifests other than the live one: they stay though A is
    # gone and older than every kept version; its 2025 ones go.
    assert _silver_of(s3, v["A"]) == {keys.silver_table_key(t, 2024, v["A"]) for t in ("filings", "documents", "transactions")}
    assert _silver_of(s3, v["B"]) == _silver_of(s3, v["R_old"]) == set()
    assert len(_silver_of(s3, v["C"])) == 3
    # The build in progress keeps its tables: unreferenced, but newer than the oldest kept version.
    assert in_progress in silver

    again = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW)
    assert again.plan.empty and (again.applied.gold_objects, again.applied.silver_objects) == (0, 0)
    assert _everything(s3) == (gold, silver)

    # Twenty days later the once young rejected version has aged out; the live one stays whole.
    later = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW + timedelta(days=20))
    assert later.plan.deleted_versions == [v["R_young"]]
    assert _keys(s3, GOLD, keys.gold_version_prefix(v["R_young"])) == set()
    _assert_whole(s3, v["E"])


def test_settings_at_zero_still_keep_everything_the_pointer_references(s3, history, legislators_bytes):
    v = history
    live = _build(s3, legislators_bytes, NOW - timedelta(days=4)).version  # carries E's 2024 tables
    manifest = _manifest(s3, live)
    s3.delete_object(Bucket=GOLD, Key=keys.gold_manifest_key(live))  # the pointer alone must protect
    pruned = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(0, 0), now=NOW)
    assert pruned.plan.kept_versions == [live]
    assert set(pruned.plan.deleted_versions) == set(v.values())
    # The plan itself names none of them (apply checks the pointer again, a second guard).
    assert not retention.references(manifest) & {*pruned.plan.gold_keys, *pruned.plan.silver_keys}
    objects.put_json(s3, GOLD, keys.gold_manifest_key(live), manifest)
    gold, silver = _everything(s3)
    assert gold == _keys(s3, GOLD, keys.gold_version_prefix(live)) | {keys.GOLD_POINTER_KEY}
    _assert_whole(s3, live)
    # Written by a deleted, older version and carried since: the pointer still references them.
    assert _silver_of(s3, v["E"]) == {keys.silver_table_key(t, 2024, v["E"]) for t in ("filings", "documents", "transactions")}
    assert {keys.silver_table_version(k) for k in silver if k.startswith(keys.SILVER_TABLES_PREFIX)} == {v["E"], live}


def test_a_build_still_running_is_never_pruned(s3, legislators_bytes):
    _silver_years(s3)
    first = _build(s3, legislators_bytes, NOW - timedelta(days=2), years=(2024, 2025))
    live = _build(s3, legislators_bytes, NOW)
    # Started just before the live one and still writing (no manifest): older than live.
    running = _fake_version(NOW - timedelta(minutes=10), "running")
    newer = _fake_version(NOW + timedelta(minutes=5), "newer")
    for version in (running, newer):
        _put(s3, keys.gold_table_key(version, "dim_member"), b"x", bucket=GOLD)
        _put(s3, keys.silver_table_key("filings", 2025, version), b"x")
    policy = Policy(keep_versions=0, keep_rejected_days=0)

    soon = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW + timedelta(minutes=20))
    assert soon.plan.deleted_versions == [first.version]
    assert {running, newer} <= set(soon.plan.kept_versions)
    assert _silver_of(s3, running) and _keys(s3, GOLD, keys.gold_version_prefix(running))

    # Hours later a version older than the live one without a manifest is a build that died.
    later = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=policy, now=NOW + timedelta(hours=3))
    assert later.plan.deleted_versions == [running]
    assert {d.version: d.reason for d in later.plan.decisions}[running] == "incomplete build (no manifest)"
    assert not _silver_of(s3, running) and not _keys(s3, GOLD, keys.gold_version_prefix(running))
    # Newer than the live one: kept until the pointer passes it.
    assert _silver_of(s3, newer) and _keys(s3, GOLD, keys.gold_version_prefix(newer))
    _assert_whole(s3, live.version)


def test_a_published_manifest_that_never_went_live_does_not_count_as_a_previous_version(s3, legislators_bytes):
    _silver_years(s3)
    first = _build(s3, legislators_bytes, NOW - timedelta(days=3), years=(2024, 2025))
    # A build that wrote `published` then lost the compare-and-swap to another build.
    loser = _fake_version(NOW - timedelta(days=2), "loser")
    lost = {**_manifest(s3, first.version), "version": loser, "previous_version": first.version,
            "tables": {"dim_member": [keys.gold_table_key(loser, "dim_member")]}}  # fmt: skip
    objects.put_json(s3, GOLD, keys.gold_manifest_key(loser), lost)
    _put(s3, keys.gold_table_key(loser, "dim_member"), b"x", bucket=GOLD)
    live = _build(s3, legislators_bytes, NOW - timedelta(days=1))
    assert live.previous_version == first.version

    pruned = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(1, 30), now=NOW)
    assert pruned.plan.kept_versions == [live.version, first.version]
    assert pruned.plan.deleted_versions == [loser]
    assert {d.version: d.reason for d in pruned.plan.decisions}[loser].startswith("published but never live")
    _assert_whole(s3, first.version)


def test_an_unreadable_manifest_is_kept_like_a_rejected_one(s3, legislators_bytes):
    _silver_years(s3)
    live = _build(s3, legislators_bytes, NOW - timedelta(days=3), years=(2024, 2025))
    garbled = _fake_version(NOW - timedelta(days=5), "garbled")
    _put(s3, keys.gold_manifest_key(garbled), b'{"version": "trunc', bucket=GOLD)
    _put(s3, keys.gold_table_key(garbled, "dim_member"), b"x", bucket=GOLD)

    young = retention.plan(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(0, 30), now=NOW)
    assert young.kept_versions == [live.version, garbled] and young.empty
    assert young.decisions[1].reason == "manifest unreadable, built 5 days ago (kept 30 days)"
    old = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(0, 4), now=NOW)
    assert old.plan.deleted_versions == [garbled]
    assert not _keys(s3, GOLD, keys.gold_version_prefix(garbled))


def test_nothing_is_pruned_before_a_version_is_live(s3, legislators_bytes):
    _silver_years(s3)
    _rejected_build(s3, legislators_bytes, NOW - timedelta(days=90))
    before = _everything(s3)
    pruned = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(0, 0), now=NOW)
    assert pruned.plan.live is None and pruned.plan.empty
    assert _everything(s3) == before


class _Recorder:
    """An S3 client that records delete_objects and answers with the given errors."""

    def __init__(self, pointer: dict, errors: list[dict] | None = None) -> None:
        self.pointer, self.errors, self.batches = pointer, errors or [], []

    def get_object(self, Bucket, Key):  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(json.dumps(self.pointer).encode()), "ETag": '"1"'}

    def delete_objects(self, Bucket, Delete):  # noqa: N803
        self.batches.append((Bucket, [o["Key"] for o in Delete["Objects"]]))
        return {"Errors": self.errors} if self.errors else {}


def _plan_of(gold_keys: list[str], silver_keys: list[str], live: str) -> retention.Plan:
    decision = retention.VersionDecision("v", False, "test", gold_keys=tuple(gold_keys), silver_keys=tuple(silver_keys))
    return retention.Plan(GOLD, SILVER, Policy(), live, (decision,))


def test_apply_deletes_in_batches_of_1000_and_never_what_the_pointer_references():
    live = _fake_version(NOW, "live")
    old = _fake_version(NOW - timedelta(days=90), "old")
    carried = keys.silver_table_key("filings", 2024, old)
    pointer = {"version": live, "silver_tables": {"filings": {"2024": carried}},
               "tables": {"dim_member": [keys.gold_table_key(live, "dim_member")]}}  # fmt: skip
    silver = [keys.silver_table_key("documents", 2000 + i % 30, f"{old}{i}") for i in range(2500)]
    gold = [keys.gold_manifest_key(old), keys.gold_table_key(old, "dim_asset"), keys.gold_table_key(live, "x")]
    s3 = _Recorder(pointer)
    applied = retention.apply(s3, _plan_of(gold, [*silver, carried], live))
    assert applied == retention.Applied(2, 2500)
    # Manifests in a request of their own, before any table: a failure never leaves a manifest
    # naming deleted files.
    assert [(b, len(k)) for b, k in s3.batches] == [(GOLD, 1), (GOLD, 1), (SILVER, 1000), (SILVER, 1000), (SILVER, 500)]
    assert s3.batches[0][1] == [keys.gold_manifest_key(old)]
    deleted = {k for _, batch in s3.batches for k in batch}
    assert carried not in deleted and keys.gold_table_key(live, "x") not in deleted


def test_apply_raises_on_errors_and_refuses_without_a_pointer():
    live = _fake_version(NOW, "live")
    failing = _Recorder({"version": live}, errors=[{"Key": "k", "Code": "AccessDenied", "Message": "no"}])
    with pytest.raises(retention.RetentionError, match="1 of 1 deletes failed.*AccessDenied"):
        retention.apply(failing, _plan_of([], ["k"], live))

    class NoPointer(_Recorder):
        def get_object(self, Bucket, Key):  # noqa: N803
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")

    gone = NoPointer({})
    with pytest.raises(retention.RetentionError, match="pointer is gone"):
        retention.apply(gone, _plan_of([], ["k"], live))
    assert gone.batches == []


def test_settings_come_from_the_environment_and_a_bad_value_stops_retention():
    assert Policy.from_env({}) == Policy(5, 30)
    assert Policy.from_env({"GOLD_KEEP_VERSIONS": "0", "GOLD_KEEP_REJECTED_DAYS": " 7 "}) == Policy(0, 7)
    for bad in ({"GOLD_KEEP_VERSIONS": "-1"}, {"GOLD_KEEP_VERSIONS": "five"}, {"GOLD_KEEP_REJECTED_DAYS": "1.5"}):
        with pytest.raises(ValueError, match="whole number"):
            Policy.from_env(bad)


def test_a_failing_retention_never_fails_the_build(monkeypatch):
    from services.build_gold import handler

    handler.stage.metrics.drain()
    monkeypatch.setenv("GOLD_KEEP_VERSIONS", "lots")
    assert handler.prune_old_versions(object(), GOLD, SILVER) is None
    monkeypatch.setenv("GOLD_KEEP_VERSIONS", "5")
    assert handler.prune_old_versions(object(), GOLD, SILVER) is None  # S3 itself fails
    assert handler.stage.metrics.drain()["GoldRetentionFailed"]["Value"] == [1.0, 1.0]


def test_a_bad_retention_setting_does_not_stop_the_build_reading_its_own(monkeypatch):
    from services.build_gold import handler

    monkeypatch.setenv("GOLD_KEEP_VERSIONS", "-1")
    monkeypatch.setenv("LEGISLATORS_HISTORY_URL", "")
    own = handler.ReferenceSettings.from_env()  # what build_for reads: no retention variable in it
    assert own.legislators_history_url == "" and own.legislators_url == handler.DEFAULT_LEGISLATORS_URL
    with pytest.raises(ValueError, match="GOLD_KEEP_VERSIONS='-1'"):
        retention.Policy.from_env()


def test_the_handler_prunes_after_a_publish(s3, history, monkeypatch):
    from services.build_gold import handler

    monkeypatch.setenv("GOLD_KEEP_VERSIONS", "1")
    monkeypatch.setenv("GOLD_KEEP_REJECTED_DAYS", "0")
    pruned = handler.prune_old_versions(s3, GOLD, SILVER)
    assert set(pruned.plan.kept_versions) == {history["E"], history["D"]}
    _assert_whole(s3, history["D"])


def test_gold_prune_command(s3, history, monkeypatch):
    from infra.cli import local_stack
    from infra.cli.main import app
    from services.common import aws, config

    environment = {"BRONZE_BUCKET": "bronze", "SILVER_BUCKET": SILVER, "GOLD_BUCKET": GOLD,
                   "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:events",
                   "GOLD_KEEP_VERSIONS": "2", "GOLD_KEEP_REJECTED_DAYS": "60"}  # fmt: skip

    def attach(state):
        for name, value in state["environment"].items():
            monkeypatch.setenv(name, value)
        config.settings.cache_clear()
        aws.reset_clients()

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(local_stack, "read_state", lambda: {"environment": environment})
    monkeypatch.setattr(local_stack, "attach", attach)
    monkeypatch.setattr(retention, "_now", lambda: NOW)
    runner = CliRunner()
    before = _everything(s3)
    try:
        dry = runner.invoke(app, ["gold", "prune", "--dry-run", "--json"])
        assert dry.exit_code == 0, dry.output
        report = json.loads(dry.output.strip().splitlines()[-1])
        assert report["dry_run"] is True and report["deleted"] is None
        assert report["deleted_versions"] == [history["B"], history["A"]]  # both rejected ones are young enough
        assert report["kept_versions"] == [history[n] for n in ("E", "R_young", "D", "C", "R_old")]
        assert _everything(s3) == before

        shown = runner.invoke(app, ["gold", "prune"])
        assert shown.exit_code == 0, shown.output
        assert "deleted 2 versions: 20 Gold objects, 3 silver year tables" in shown.output
        assert not _keys(s3, GOLD, keys.gold_version_prefix(history["A"]))
        _assert_whole(s3, history["C"])
    finally:
        config.settings.cache_clear()
        aws.reset_clients()


@pytest.mark.parametrize("damage", ["garbled", "missing"])
def test_a_broken_chain_of_live_versions_deletes_nothing(s3, history, damage):
    # D was live before E. Without its manifest, C, B and A would look never live and go.
    v = history
    key = keys.gold_manifest_key(v["D"])
    if damage == "garbled":
        _put(s3, key, b'{"version": "trunc', bucket=GOLD)
    else:
        s3.delete_object(Bucket=GOLD, Key=key)
    before = _everything(s3)
    with pytest.raises(retention.RetentionError, match=f"broken at {v['D']}"):
        retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(5, 30), now=NOW)
    assert _everything(s3) == before


def test_the_versions_the_api_serves_are_kept_when_publishing_lags(s3, history):
    # publish_api failed since B: the API still serves B (and holds A for a few seconds more).
    v = history
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key=keys.SITE_META_KEY, Body=json.dumps({"gold_version": v["B"], "previous_gold_version": v["A"]}))
    served = retention.served_versions(s3, "site")
    assert served == {v["A"], v["B"]}
    pruned = retention.prune(s3, gold_bucket=GOLD, silver_bucket=SILVER, policy=Policy(1, 0), now=NOW, served=served)
    reasons = {d.version: d.reason for d in pruned.plan.decisions if d.keep}
    assert reasons[v["B"]] == reasons[v["A"]] == "served by the API (api/meta.json)"
    for name in ("E", "D", "B", "A"):
        _assert_whole(s3, v[name])
    s3.create_bucket(Bucket="site-before-any-publish")
    assert retention.served_versions(s3, "") == set() == retention.served_versions(s3, "site-before-any-publish")
