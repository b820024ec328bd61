"""build_gold: compact silver into year tables, build Gold, check it, publish by moving the pointer.

A build writes everything under a new version (silver year tables, Gold tables, a manifest
with the quality report), then moves the pointer only if every check passed or was
overridden. A rejected version stays in S3 for inspection and is never pointed to, so the
last good version stays live. Years not being rebuilt are carried forward from the live
version's silver year tables (or recompacted when their schema changed).

No SNS, no ledger here: the handler turns the `BuildResult` into `gold.published` or
`gold.rejected`. A build that another one beat to the pointer is built again on top of the newer
version (`build_on_latest`), in the same invocation.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from services.build_gold import schemas, store
from services.build_gold.compact import SilverFailure, YearTables, compact_year
from services.build_gold.members import MemberResolver, load_legislators
from services.build_gold.quality import DEFAULT_CONFIG, QualityConfig, QualityReport, flag_rows, run_checks
from services.build_gold.transform import SilverTables, build_gold_tables
from services.common import keys, objects, storage
from services.common.documents import MANIFEST_FORMAT, GoldManifest, Pointer, read_pointer


@dataclass(frozen=True)
class BuildResult:
    status: Literal["published", "rejected"]
    version: str
    previous_version: str | None
    years: list[int]  # every year in this version
    rebuilt_years: list[int]  # years compacted from silver records in this build
    row_counts: dict[str, int]
    report: QualityReport
    manifest_key: str

    @property
    def published(self) -> bool:
        return self.status == "published"

    @property
    def failed_checks(self) -> list[str]:
        return self.report.failed_checks


@dataclass
class _Silver:
    tables: dict[int, YearTables]
    failures: list[SilverFailure]
    documents_read: int
    rebuilt: list[int]
    filings_digests: dict[int, str | None]  # of each year's filings snapshot rows


@lru_cache(maxsize=2)
def _resolver(legislators: bytes, former: bytes | None) -> MemberResolver:
    # Parsing the reference takes seconds; a warm Lambda reuses it while the bytes are unchanged.
    return MemberResolver(load_legislators(legislators, *([former] if former else [])))


# --- silver -----------------------------------------------------------------------------------


def _compact_years(s3: Any, bucket: str, years: list[int]) -> _Silver:
    silver = _Silver({}, [], 0, sorted(years), {})
    for year in list(silver.rebuilt):
        snapshot, failures = store.read_filings(s3, bucket, year)
        documents, unreadable = store.read_documents(s3, bucket, year)
        if snapshot is None and not documents and not unreadable:
            # No index published for that year yet (early January): nothing to build, not a fault.
            silver.rebuilt.remove(year)
            continue
        tables, invalid = compact_year(snapshot, keys.filings_key(year), documents, year)
        if failures:  # the snapshot could not be read: said once, not again as an invalid one
            invalid = [f for f in invalid if f.key != keys.filings_key(year)]
        silver.tables[year] = tables
        silver.filings_digests[year] = _filings_digest(snapshot)
        silver.failures += failures + unreadable + invalid
        silver.documents_read += len(documents) + len(unreadable)
    return silver


def _carried_year(s3: Any, previous: Pointer, year: int) -> YearTables | None:
    """A year's silver tables from the live version; None when absent or of an older schema."""
    bucket = previous.manifest.silver_bucket
    if bucket is None:  # a format-1 manifest names no silver bucket: nothing to carry
        return None
    found = {}
    for table, schema in schemas.SILVER_TABLES.items():
        key = previous.manifest.silver_tables.get(table, {}).get(str(year))
        if key is None:
            return None
        try:
            found[table] = objects.read_parquet(s3, bucket, key, schema)
        except (FileNotFoundError, pa.ArrowException, ValueError):
            return None
    return YearTables(**found)


def _read_silver(s3: Any, bucket: str, years: list[int], previous: Pointer | None) -> _Silver:
    carried: dict[int, YearTables] = {}
    stale: list[int] = []
    for year in previous.manifest.years if previous else []:
        if year in years:
            continue
        assert previous is not None
        tables = _carried_year(s3, previous, year)
        if tables is None:
            stale.append(year)
        else:
            carried[year] = tables
    silver = _compact_years(s3, bucket, sorted(set(years) | set(stale)))
    silver.tables |= carried
    recorded = (previous.manifest.filings_digests or {}) if previous else {}
    silver.filings_digests |= {year: recorded.get(str(year)) for year in carried}
    return silver


def _concat(tables: dict[int, YearTables]) -> SilverTables:
    ordered = [tables[y] for y in sorted(tables)]
    return SilverTables(
        **{
            name: pa.concat_tables([t.as_dict()[name] for t in ordered], promote_options="none")
            if ordered
            else schema.empty_table()
            for name, schema in schemas.SILVER_TABLES.items()
        }
    )


# --- writing ----------------------------------------------------------------------------------


def _gold_files(gold: dict[str, pa.Table], years: list[int]) -> dict[tuple[str, int | None], bytes]:
    files: dict[tuple[str, int | None], bytes] = {}
    for name, table in gold.items():
        if name not in schemas.PARTITIONED_BY_YEAR:
            files[(name, None)] = objects.parquet_bytes(table)
            continue
        for year in years:
            files[(name, year)] = objects.parquet_bytes(table.filter(pc.equal(table["year"], year)))
    return files


def _version(now: datetime, payloads: list[bytes]) -> str:
    """Sortable id: UTC timestamp, then a hash of the content (equal content, equal suffix)."""
    digest = hashlib.sha256()
    for payload in payloads:
        digest.update(hashlib.sha256(payload).digest())
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:8]}"  # ids sort by build time


def _gold_key(version: str, table: str, year: int | None) -> str:
    return (
        keys.gold_table_key(version, table) if year is None else keys.gold_partition_key(version, table, year)
    )


def _write(
    s3: Any,
    silver_bucket: str,
    gold_bucket: str,
    silver_files: dict[tuple[str, int], bytes],
    gold_files: dict[tuple[str, int | None], bytes],
    version: str,
) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    silver_keys: dict[str, dict[str, str]] = {name: {} for name in schemas.SILVER_TABLES}
    for (table, year), data in sorted(silver_files.items()):
        key = keys.silver_table_key(table, year, version)
        objects.put_bytes(s3, silver_bucket, key, data, "application/vnd.apache.parquet")
        silver_keys[table][str(year)] = key
    gold_keys: dict[str, list[str]] = {name: [] for name in schemas.GOLD_TABLES}
    for (table, gold_year), data in sorted(gold_files.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        key = _gold_key(version, table, gold_year)
        objects.put_bytes(s3, gold_bucket, key, data, "application/vnd.apache.parquet")
        gold_keys[table].append(key)
    return silver_keys, gold_keys


def _carried_keys(previous: Pointer | None, years: list[int]) -> dict[str, dict[str, str]]:
    """Silver table keys of the carried-forward years: still the live version's files."""
    if previous is None:
        return {}
    return {
        table: {y: k for y, k in by_year.items() if int(y) in years}
        for table, by_year in previous.manifest.silver_tables.items()
    }


# --- the build --------------------------------------------------------------------------------


def _filings_digest(snapshot: Any) -> str | None:
    return storage.json_digest(snapshot.get("filings")) if isinstance(snapshot, dict) else None


def built_from_current_filings(s3: Any, silver_bucket: str, live: Pointer, years: list[int]) -> bool:
    """Whether the live version was built from the filings each year's snapshot now holds.

    A run that extracted nothing can still change Gold: a new index may rename a filer or drop
    a filing without any new document. A version built before digests were recorded answers
    False, so it is rebuilt once.
    """
    recorded = live.manifest.filings_digests
    if recorded is None:
        return False
    for year in years:
        head = objects.head(s3, silver_bucket, keys.filings_key(year))
        current = (head or {}).get("Metadata", {}).get(keys.FILINGS_DIGEST_METADATA)
        if head is not None and current is None:  # a snapshot written before the metadata existed
            current = _filings_digest(store.read_filings(s3, silver_bucket, year)[0])
        # A year with no snapshot then and now (its index not yet published) compares equal.
        if current != recorded.get(str(year)):
            return False
    return True


def build(
    s3: Any,
    *,
    silver_bucket: str,
    gold_bucket: str,
    years: list[int],
    run_id: str,
    legislators: bytes | None = None,
    former_legislators: bytes | None = None,
    reference_bucket: str | None = None,
    reference_key: str | None = None,
    overrides: dict[str, str] | None = None,
    now: datetime | None = None,
    config: QualityConfig = DEFAULT_CONFIG,
) -> BuildResult:
    """Build a new Gold version from silver; publish it if its checks pass.

    The legislators reference is given as bytes, or read from reference_bucket/reference_key;
    `former_legislators` (bytes) adds the members who left the House.
    Raises `store.PointerConflict` when another build moved the pointer meanwhile (retry).
    """
    now = now or datetime.now(UTC)
    if legislators is None:
        if not (reference_bucket and reference_key):
            raise ValueError("give legislators bytes or reference_bucket and reference_key")
        legislators = objects.get_bytes(s3, reference_bucket, reference_key)
        if legislators is None:
            raise FileNotFoundError(f"s3://{reference_bucket}/{reference_key}")
    resolver = _resolver(legislators, former_legislators)

    previous = read_pointer(s3, gold_bucket)
    silver = _read_silver(s3, silver_bucket, years, previous)
    all_years = sorted(silver.tables)
    gold = build_gold_tables(_concat(silver.tables), resolver)
    gold["fact_transactions"] = flag_rows(gold["fact_transactions"], now.date(), config)
    row_counts = {name: table.num_rows for name, table in gold.items()}
    report = run_checks(
        gold,
        today=now.date(),
        silver_failures=silver.failures,
        documents_read=silver.documents_read,
        previous_counts=previous.manifest.row_counts if previous else None,
        overrides=overrides,
        config=config,
    )

    silver_files = {
        (name, year): objects.parquet_bytes(table)
        for year in silver.rebuilt
        for name, table in silver.tables[year].as_dict().items()
    }
    gold_files = _gold_files(gold, all_years)
    version = _version(now, [*silver_files.values(), *gold_files.values()])
    silver_keys, gold_keys = _write(s3, silver_bucket, gold_bucket, silver_files, gold_files, version)
    carried_keys = _carried_keys(previous, [y for y in all_years if y not in silver.rebuilt])
    for table, by_year in carried_keys.items():
        silver_keys.setdefault(table, {}).update(by_year)

    status: Literal["published", "rejected"] = "published" if report.passed else "rejected"
    manifest = GoldManifest(
        format_version=MANIFEST_FORMAT,
        version=version,
        status=status,
        built_at=now.isoformat(),
        run_id=run_id,
        previous_version=previous.version if previous else None,
        years=all_years,
        rebuilt_years=silver.rebuilt,
        row_counts=row_counts,
        quality=report.to_dict(),
        legislators_sha256=hashlib.sha256(legislators).hexdigest(),
        former_legislators_sha256=hashlib.sha256(former_legislators).hexdigest() if former_legislators else None,
        filings_digests={str(year): digest for year, digest in sorted(silver.filings_digests.items())},
        silver_bucket=silver_bucket,
        silver_tables=silver_keys,
        gold_bucket=gold_bucket,
        tables=gold_keys,
    )
    manifest_key = keys.gold_manifest_key(version)
    objects.put_json(s3, gold_bucket, manifest_key, manifest.to_json())
    if report.passed:
        store.move_pointer(s3, gold_bucket, manifest, previous)
    return BuildResult(
        status=status,
        version=version,
        previous_version=previous.version if previous else None,
        years=all_years,
        rebuilt_years=silver.rebuilt,
        row_counts=row_counts,
        report=report,
        manifest_key=manifest_key,
    )


# Concurrent builds are rare (one per settled run or Gold request) and one retry almost always
# wins; a third loss leaves it to SQS, whose Gold queue on AWS waits 90 minutes to redeliver.
POINTER_ATTEMPTS = 3


def build_on_latest(s3: Any, **kwargs: Any) -> BuildResult:
    """`build`, again when another build moved the pointer meanwhile: the next one reads the newer
    version as its previous, so nothing of it is lost."""
    for _ in range(POINTER_ATTEMPTS - 1):
        with contextlib.suppress(store.PointerConflict):
            return build(s3, **kwargs)
    return build(s3, **kwargs)
