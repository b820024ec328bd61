"""Quality checks run on every build; a build publishes only when each check passed or was overridden.

An override (`{check_name: reason}`) never hides a failure: the check stays `passed=False`
with `overridden=True` and the operator's reason, in the report stored with the version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.build_gold import schemas
from services.build_gold.compact import SilverFailure

_SAMPLES = 20

# (table, key column) that must be unique and non-null.
PRIMARY_KEYS = (
    ("dim_member", "member_key"),
    ("dim_asset", "asset_key"),
    ("fact_transactions", "transaction_key"),
    ("fact_filings", "filing_key"),
)
# (child table, column, parent table, parent key column).
FOREIGN_KEYS = (
    ("fact_transactions", "filing_key", "fact_filings", "filing_key"),
    ("fact_transactions", "member_key", "dim_member", "member_key"),
    ("fact_transactions", "asset_key", "dim_asset", "asset_key"),
    ("fact_filings", "member_key", "dim_member", "member_key"),
    ("agg_member_stats", "member_key", "dim_member", "member_key"),
)
DATE_COLUMNS = (
    ("fact_transactions", "transaction_date"),
    ("fact_transactions", "notification_date"),
    ("fact_transactions", "disclosure_date"),
    ("fact_filings", "filing_date"),
    ("fact_filings", "signature_date"),
)
VOLUME_TABLES = ("fact_filings", "fact_transactions", "dim_member")


@dataclass(frozen=True)
class QualityConfig:
    earliest_date: date = date(2008, 1, 1)  # the Clerk's indexes start in 2008
    max_volume_drop: float = 0.10  # fraction of a table's rows that may vanish between versions


DEFAULT_CONFIG = QualityConfig()


@dataclass
class CheckResult:
    name: str
    passed: bool
    details: str
    counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    overridden: bool = False
    override_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.passed or self.overridden


@dataclass
class QualityReport:
    checks: list[CheckResult]
    unused_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed_checks(self) -> list[str]:
        """Checks that failed and were not overridden: what blocks publishing."""
        return [c.name for c in self.checks if not c.ok]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed_checks": self.failed_checks,
            "overridden_checks": [c.name for c in self.checks if c.overridden],
            "checks": [asdict(c) for c in self.checks],
            "unused_overrides": self.unused_overrides,
        }


def _result(name: str, bad: Mapping[str, Iterable[str]], checked: str, total: int) -> CheckResult:
    """A check whose failures are lists of offending ids, grouped by what was checked."""
    failures = {scope: list(ids) for scope, ids in bad.items()}
    failing = {scope: ids for scope, ids in failures.items() if ids}
    counts = {checked: total} | {scope: len(ids) for scope, ids in failing.items()}
    if not failing:
        return CheckResult(name, True, f"{total} {checked} checked", counts)
    details = "; ".join(f"{scope}: {len(ids)}" for scope, ids in failing.items())
    samples = [f"{scope}: {i}" for scope, ids in failing.items() for i in ids][:_SAMPLES]
    return CheckResult(name, False, details, counts, samples)


# --- the checks -------------------------------------------------------------------------------


def check_silver_integrity(failures: list[SilverFailure], documents_read: int) -> CheckResult:
    samples = [f"{f.key}: {f.reason}" for f in failures][:_SAMPLES]
    counts = {"documents_read": documents_read, "unreadable": len(failures)}
    if failures:
        return CheckResult(
            "silver_integrity", False, f"{len(failures)} silver objects unreadable", counts, samples
        )
    return CheckResult("silver_integrity", True, f"{documents_read} silver documents read", counts)


def check_schema(tables: Mapping[str, pa.Table]) -> CheckResult:
    bad = {}
    for name, expected in schemas.GOLD_TABLES.items():
        table = tables.get(name)
        if table is None:
            bad[name] = ["table missing"]
        elif not table.schema.equals(expected):
            diff = sorted(set(map(str, table.schema)) ^ set(map(str, expected)))
            bad[name] = [f"differs: {', '.join(diff)}" if diff else "column order differs"]
        elif nulls := [c.name for c in expected if not c.nullable and table[c.name].null_count]:
            bad[name] = [f"nulls in non-nullable {c}" for c in nulls]
    return _result("schema", bad, "tables", len(schemas.GOLD_TABLES))


def check_unique_keys(tables: Mapping[str, pa.Table]) -> CheckResult:
    bad = {}
    for table, column in PRIMARY_KEYS:
        values = tables[table][column].to_pylist()
        dupes = sorted(k for k, n in Counter(values).items() if n > 1 and k is not None)
        bad[f"{table}.{column}"] = dupes + (["<null>"] if None in values else [])
    return _result("unique_keys", bad, "keys", len(PRIMARY_KEYS))


def check_foreign_keys(tables: Mapping[str, pa.Table]) -> CheckResult:
    bad = {}
    for child, column, parent, parent_column in FOREIGN_KEYS:
        known = set(tables[parent][parent_column].to_pylist())
        bad[f"{child}.{column}->{parent}"] = sorted(
            {v for v in tables[child][column].to_pylist() if v not in known}
        )
    return _result("foreign_keys", bad, "relations", len(FOREIGN_KEYS))


def _keys_where(table: pa.Table, mask: pa.ChunkedArray, key: str = "transaction_key") -> list[str]:
    return table.filter(pc.fill_null(mask, False))[key].to_pylist()


def check_amount_bounds(tables: Mapping[str, pa.Table]) -> CheckResult:
    facts = tables["fact_transactions"]
    low, high = facts["amount_low"], facts["amount_high"]
    bad = {
        "low > high": _keys_where(facts, pc.greater(low, high)),
        "negative amount": _keys_where(facts, pc.or_(pc.less(low, 0), pc.less(high, 0))),
    }
    return _result("amount_bounds", bad, "transactions", facts.num_rows)


def check_date_range(tables: Mapping[str, pa.Table], today: date, config: QualityConfig) -> CheckResult:
    # Tomorrow is allowed: filings are dated in US time, builds run on UTC.
    latest = today + timedelta(days=1)
    bad = {}
    for table, column in DATE_COLUMNS:
        data = tables[table]
        key = "transaction_key" if table == "fact_transactions" else "filing_key"
        values = data[column]
        outside = pc.or_(
            pc.less(values, pa.scalar(config.earliest_date)), pc.greater(values, pa.scalar(latest))
        )
        bad[f"{table}.{column}"] = _keys_where(data, outside, key)
    total = sum(tables[t].num_rows for t in {t for t, _ in DATE_COLUMNS})
    result = _result("date_range", bad, "rows", total)
    result.details += f" (allowed {config.earliest_date} .. {latest})"
    return result


def check_notification_order(tables: Mapping[str, pa.Table]) -> CheckResult:
    facts = tables["fact_transactions"]
    before = pc.less(facts["notification_date"], facts["transaction_date"])
    return _result(
        "notification_not_before_transaction",
        {"notification < transaction": _keys_where(facts, before)},
        "transactions",
        facts.num_rows,
    )


def check_ptr_rows(tables: Mapping[str, pa.Table]) -> CheckResult:
    """An extracted PTR with no rows is a parse of nothing, never a success."""
    filings = tables["fact_filings"]
    empty = pc.and_(
        pc.and_(pc.equal(filings["filing_type"], "P"), pc.equal(filings["extraction_status"], "extracted")),
        pc.equal(filings["transaction_count"], 0),
    )
    return _result(
        "extracted_ptr_has_rows",
        {"extracted PTRs without rows": _keys_where(filings, empty, "filing_key")},
        "filings",
        filings.num_rows,
    )


def check_volume(
    counts: Mapping[str, int], previous: Mapping[str, int] | None, config: QualityConfig
) -> CheckResult:
    if not previous:
        return CheckResult("volume", True, "no previous version to compare with", dict(counts))
    bad = {}
    for table in VOLUME_TABLES:
        before, now = previous.get(table, 0), counts.get(table, 0)
        if now < before * (1 - config.max_volume_drop):
            bad[table] = [f"{before} -> {now}"]
    result = _result("volume", bad, "tables", len(VOLUME_TABLES))
    result.counts |= {f"{t}.previous": previous.get(t, 0) for t in VOLUME_TABLES}
    result.counts |= {f"{t}.current": counts.get(t, 0) for t in VOLUME_TABLES}
    return result


# --- running them -----------------------------------------------------------------------------


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    # A check that crashes (e.g. on a table with the wrong schema) fails; it must not pass.
    try:
        return check()
    except (KeyError, pa.ArrowException, TypeError) as exc:
        return CheckResult(name, False, f"check could not run: {type(exc).__name__}: {exc}")


def apply_overrides(checks: list[CheckResult], overrides: Mapping[str, str] | None) -> QualityReport:
    overrides = dict(overrides or {})
    for check in checks:
        reason = overrides.pop(check.name, None)
        if reason and not check.passed:
            check.overridden, check.override_reason = True, reason
        elif reason:
            overrides[check.name] = reason  # the check passed: nothing to override
    return QualityReport(checks, unused_overrides=overrides)


CHECK_NAMES = (
    "silver_integrity", "schema", "unique_keys", "foreign_keys", "amount_bounds", "date_range",
    "notification_not_before_transaction", "extracted_ptr_has_rows", "volume",
)  # fmt: skip


def run_checks(
    tables: Mapping[str, pa.Table],
    *,
    today: date,
    silver_failures: list[SilverFailure] | None = None,
    documents_read: int = 0,
    previous_counts: Mapping[str, int] | None = None,
    overrides: Mapping[str, str] | None = None,
    config: QualityConfig = DEFAULT_CONFIG,
) -> QualityReport:
    counts = {name: table.num_rows for name, table in tables.items()}
    checks = [
        check_silver_integrity(silver_failures or [], documents_read),
        _guarded("schema", lambda: check_schema(tables)),
        _guarded("unique_keys", lambda: check_unique_keys(tables)),
        _guarded("foreign_keys", lambda: check_foreign_keys(tables)),
        _guarded("amount_bounds", lambda: check_amount_bounds(tables)),
        _guarded("date_range", lambda: check_date_range(tables, today, config)),
        _guarded("notification_not_before_transaction", lambda: check_notification_order(tables)),
        _guarded("extracted_ptr_has_rows", lambda: check_ptr_rows(tables)),
        check_volume(counts, previous_counts, config),
    ]
    assert tuple(c.name for c in checks) == CHECK_NAMES
    return apply_overrides(checks, overrides)
