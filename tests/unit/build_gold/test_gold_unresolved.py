"""`disclosures members unresolved`: the live version's filers that matched no member, with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
import yaml
from moto import mock_aws

from services.build_gold.build import build
from services.build_gold.compact import compact_year
from services.build_gold.transform import SilverTables, build_gold_tables
from services.build_gold.unresolved import YearNotInVersion, read_live, unresolved_filers
from services.common import keys


def test_the_2025_index_leaves_no_ptr_filer_unresolved(index_2025, house_resolver):
    tables, _ = compact_year({"year": 2025, "filings": index_2025}, keys.filings_key(2025), [], 2025)
    gold = build_gold_tables(SilverTables(**tables.as_dict()), house_resolver)
    members, filings = gold["dim_member"].to_pylist(), gold["fact_filings"].to_pylist()
    assert unresolved_filers(members, filings, 2025, "P") == []
    found = unresolved_filers(members, filings, 2025)
    assert found and {u.method for u in found} == {"unresolved_no_match"}
    assert all(u.reason == "no current or former House member has this name and seat" for u in found)
    # Candidates are resolved as such: none is listed, whatever else they filed.
    candidates = {f["member_key"] for f in filings if f["filer_kind"] == "candidate"}
    assert candidates and not candidates & {u.member_key for u in found}
    assert not {"C", "D"} & {t for u in found for t in u.filing_types}
    assert unresolved_filers(members, filings, 2024) == []


# A former member, as congress-legislators' history file holds her (only her, to keep the test fast).
GREENE = [{"id": {"bioguide": "G000596"}, "name": {"first": "Marjorie", "middle": "Taylor", "last": "Greene"},
           "terms": [{"type": "rep", "start": "2021-01-03", "end": "2026-01-05", "state": "GA", "district": 14,
                      "party": "Republican"}]}]  # fmt: skip


def test_read_from_the_live_version(mirror_silver, legislators_bytes):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("silver", "gold"):
            s3.create_bucket(Bucket=bucket)
        assert read_live(s3, "gold", 2025) is None
        snapshot, records = mirror_silver()
        s3.put_object(Bucket="silver", Key=keys.filings_key(2025), Body=json.dumps(snapshot).encode())
        for record in records:
            s3.put_object(Bucket="silver", Key=keys.document_key(2025, record["doc_id"]), Body=json.dumps(record).encode())
        built = build(s3, silver_bucket="silver", gold_bucket="gold", years=[2025], run_id="r",
                      legislators=legislators_bytes, former_legislators=yaml.safe_dump(GREENE).encode(),
                      now=datetime(2025, 11, 26, tzinfo=UTC))  # fmt: skip
        assert built.published
        found = read_live(s3, "gold", 2025)
        greene = [u for u in read_live(s3, "gold", 2025, "P") or []]
        with pytest.raises(YearNotInVersion, match="holds no year 1999 \\(it holds 2025\\)"):
            read_live(s3, "gold", 1999)  # not "every filer resolved"
    # Greene's PTRs resolve through the history file: in the small mirror no PTR filer is left.
    assert found is not None and greene == [] and all("P" not in u.filing_types for u in found)
    assert {u.reason for u in found} <= {"no current or former House member has this name and seat"}
