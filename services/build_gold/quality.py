"""Quality checks run on every build.

Each check has a severity. A `block` check finds a parser or pipeline error (an unreadable silver
record, a broken key, amounts the form cannot produce): the build publishes only when every
block check passed or was overridden. A `flag` check finds a filer's own inconsistency in what
the filing prints (a notification date before the trade): the rows stay in Gold and publish,
each carries the flag's name in `fact_transactions.quality_flags`, and the report counts them.

An override (`{check_name: reason}`) never hides a failure: the check stays `passed=False`
with `overridden=True` and the operator's reason, in the report stored with the version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

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
VOLUME_TABLES = ("fact_filings", "fact_transactions", "dim_member")

Severity = Literal["block", "flag"]


@dataclass(frozen=True)
class QualityConfig:
    earliest_date: date = date(2008, 1, 1)  # the Clerk's indexes start in 2008
    max_volume_drop: float = 0.10  # fraction of a table's rows that may vanish between versions


DEFAULT_CONFIG = QualityConfig()


@dataclass
class CheckResult:
    name: str
    passed: bool  # nothing found (a flag check that found rows says False and still publishes)
    details: str
    counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    overridden: bool = False
    override_reason: str | None = None
    severity: Severity = "block"

    @property
    def ok(self) -> bool:
        return self.passed or self.overridden or self.severity == "flag"


@dataclass
class QualityReport:
    checks: list[CheckResult]
    unused_overrides: dict[str, str] = field(default_factory=dict)
    rows_by_source: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed_checks(self) -> list[str]:
        """Checks that failed and were not overridden: what blocks publishing."""
        return [c.name for c in self.checks if not c.ok]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    @property
    def flagged_checks(self) -> list[str]:
        """Flag checks that found rows: published and counted, never blocking."""
        return [c.name for c in self.checks if c.severity == "flag" and not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed_checks": self.failed_checks,
            "overridden_checks": [c.name for c in self.checks if c.overridden],
            "flagged_checks": self.flagged_checks,
            "checks": [asdict(c) for c in self.checks],
            "unused_overrides": self.unused_overrides,
            "rows_by_source": self.rows_by_source,
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


def _outside(values: pa.ChunkedArray, today: date, config: QualityConfig) -> pa.ChunkedArray:
    # Tomorrow is allowed: filings are dated in US time, builds run on UTC.
    latest = today + timedelta(days=1)
    return pc.or_(pc.less(values, pa.scalar(config.earliest_date)), pc.greater(values, pa.scalar(latest)))


def check_date_range(tables: Mapping[str, pa.Table], today: date, config: QualityConfig) -> CheckResult:
    """Dates the pipeline reads, not cells the filer typed: the index's filing date and the e-filing
    system's signature stamp. (A disclosure date is one of these or a notification date, flagged.)"""
    filings = tables["fact_filings"]
    efiled = pc.equal(filings["rendering"], "efiled")
    bad = {
        "fact_filings.filing_date": _keys_where(
            filings, _outside(filings["filing_date"], today, config), "filing_key"
        ),
        "fact_filings.signature_date": _keys_where(
            filings, pc.and_(efiled, _outside(filings["signature_date"], today, config)), "filing_key"
        ),
    }
    result = _result("date_range", bad, "filings", filings.num_rows)
    result.details += f" (allowed {config.earliest_date} .. {today + timedelta(days=1)})"
    return result


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


# --- row flags: what a filer printed that cannot be true, kept and marked ---------------------

RowMask = Callable[[pa.Table, date, QualityConfig], pa.ChunkedArray]

# flag (the name stored in fact_transactions.quality_flags) -> (the check that counts it, its rows)
ROW_FLAGS: dict[str, tuple[str, RowMask]] = {
    "notification_before_transaction": (
        "notification_not_before_transaction",
        lambda facts, today, config: pc.less(facts["notification_date"], facts["transaction_date"]),
    ),
    "transaction_date_out_of_range": (
        "transaction_date_range",
        lambda facts, today, config: _outside(facts["transaction_date"], today, config),
    ),
    "notification_date_out_of_range": (
        "transaction_date_range",
        lambda facts, today, config: _outside(facts["notification_date"], today, config),
    ),
    # A trade or notification dated after the filing that discloses it: a misprint, or an OCR
    # misread (5/5 read as 8/5). Not the filer's to explain, but a person should look.
    "transaction_after_disclosure": (
        "dates_not_after_disclosure",
        lambda facts, today, config: pc.greater(facts["transaction_date"], facts["disclosure_date"]),
    ),
    "notification_after_disclosure": (
        "dates_not_after_disclosure",
        lambda facts, today, config: pc.greater(facts["notification_date"], facts["disclosure_date"]),
    ),
    # A correction whose original is not in Gold (an earlier year not loaded) or is not one row.
    "correction_without_original": (
        "corrections",
        lambda facts, today, config: pc.equal(facts["correction_match"], "not_found"),
    ),
    "correction_ambiguous": (
        "corrections",
        lambda facts, today, config: pc.equal(facts["correction_match"], "ambiguous"),
    ),
}


def flag_rows(facts: pa.Table, today: date, config: QualityConfig = DEFAULT_CONFIG) -> pa.Table:
    """`fact_transactions` with `quality_flags` set to the flags each row raises (in ROW_FLAGS order)."""
    flags: list[list[str]] = [[] for _ in range(facts.num_rows)]
    for name, (_, mask) in ROW_FLAGS.items():
        for i, hit in enumerate(pc.fill_null(mask(facts, today, config), False).to_pylist()):
            if hit:
                flags[i].append(name)
    column = schemas.FACT_TRANSACTIONS.field("quality_flags")
    return facts.set_column(facts.schema.get_field_index(column.name), column, pa.array(flags, column.type))


def check_row_flags(
    name: str, tables: Mapping[str, pa.Table], today: date, config: QualityConfig
) -> CheckResult:
    """The rows a flag check marks, counted per flag (the same masks `flag_rows` writes)."""
    facts = tables["fact_transactions"]
    bad = {
        flag: _keys_where(facts, mask(facts, today, config))
        for flag, (check, mask) in ROW_FLAGS.items()
        if check == name
    }
    return _result(name, bad, "transactions", facts.num_rows)


def rows_by_source(tables: Mapping[str, pa.Table]) -> dict[str, dict[str, Any]]:
    """Published rows per source (e-filed text layer vs OCR of a scan): how many, how many a person
    should check, their mean confidence. Reported beside the checks, never a check itself."""
    facts = tables["fact_transactions"]
    if "source" not in facts.column_names:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for source in sorted(set(facts["source"].to_pylist())):
        rows = facts.filter(pc.equal(facts["source"], source))
        review = pc.list_value_length(rows["needs_review"])
        confidence = pc.mean(rows["confidence"]).as_py()
        out[source] = {
            "rows": rows.num_rows,
            "filings": len(set(rows["filing_key"].to_pylist())),
            "needs_review": int(pc.sum(pc.greater(review, 0)).as_py() or 0),
            "mean_confidence": None if confidence is None else round(confidence, 4),
        }
    return out


# --- corrections, copies and who filed ---------------------------------------------------------

def check_trade_chain(tables: Mapping[str, pa.Table]) -> CheckResult:
    """Corrections and copies point at rows that exist, both ways, and only active rows count."""
    facts = tables["fact_transactions"].select(
        ["transaction_key", "trade_status", "counted", "supersedes", "superseded_by", "duplicate_of"]
    ).to_pylist()
    by_key = {f["transaction_key"]: f for f in facts}
    bad: dict[str, list[str]] = {"dangling": [], "not mutual": [], "counted but not active": []}
    for f in facts:
        for column in ("supersedes", "superseded_by", "duplicate_of"):
            if f[column] is not None and f[column] not in by_key:
                bad["dangling"].append(f"{f['transaction_key']}.{column}")
        if f["supersedes"] in by_key and by_key[f["supersedes"]]["superseded_by"] != f["transaction_key"]:
            bad["not mutual"].append(f["transaction_key"])
        if f["counted"] != (f["trade_status"] == "active"):
            bad["counted but not active"].append(f["transaction_key"])
    return _result("trade_chain", bad, "transactions", len(facts))


def report_corrections(tables: Mapping[str, pa.Table], today: date, config: QualityConfig) -> CheckResult:
    """Flags corrections that matched no original or more than one (row flags); counts the rows
    that no longer count: superseded (amended, deleted), deletions, duplicates."""
    result = check_row_flags("corrections", tables, today, config)
    facts = tables["fact_transactions"].select(["trade_status", "correction_match"]).to_pylist()
    statuses = Counter(f["trade_status"] for f in facts)
    matches = Counter(f["correction_match"] for f in facts if f["correction_match"])
    result.counts |= {f"status.{k}": v for k, v in sorted(statuses.items())}
    result.counts |= {f"correction.{k}": v for k, v in sorted(matches.items())}
    not_counted = sum(v for k, v in statuses.items() if k != "active")
    result.details = (
        f"{not_counted} rows not counted (amended {statuses['amended']}, deleted {statuses['deleted']}, "
        f"deletions {statuses['deletion']}, duplicates {statuses['duplicate']}); "
        f"corrections matched {matches['transaction_id'] + matches['fields']}, "
        f"ambiguous {matches['ambiguous']}, without original {matches['not_found']}"
    )
    return result


def report_members(tables: Mapping[str, pa.Table]) -> CheckResult:
    """Filers that did not resolve (those of PTRs first), and resolved members with no party or
    district (shown as unknown, never as a blank)."""
    members = tables["dim_member"].to_pylist()
    filings = tables["fact_filings"].select(["member_key", "filing_type"]).to_pylist()
    ptr_filers = {f["member_key"] for f in filings if f["filing_type"] == "P"}
    unresolved = [m for m in members if m["filer_kind"] == "unresolved"]
    unknown = [m for m in members if m["resolved"] and (m["party"] is None or m["district"] is None)]
    counts = {
        "filers": len(members),
        "members": sum(m["filer_kind"] == "member" for m in members),
        "candidates": sum(m["filer_kind"] == "candidate" for m in members),
        "officers": sum(m["filer_kind"] == "officer" for m in members),
        "unresolved": len(unresolved),
        "unresolved_ptr_filers": sum(m["member_key"] in ptr_filers for m in unresolved),
        "party_or_district_unknown": len(unknown),
    }
    samples = [f"unresolved ({m['match_method']}): {m['filer_name']} {m['state_district'] or ''}".strip()
               for m in sorted(unresolved, key=lambda m: m["member_key"] not in ptr_filers)]
    samples = [f"party/district unknown: {m['member_key']}" for m in unknown] + samples
    details = (
        f"{counts['unresolved']} filers unresolved ({counts['unresolved_ptr_filers']} of PTRs), "
        f"{counts['party_or_district_unknown']} members with party or district unknown"
    )
    # Found: a PTR filer matched no one, or a member's party or district is unknown. Other
    # unresolved filers (extension requests of people who never sat) are counted, not flagged.
    found = counts["unresolved_ptr_filers"] + counts["party_or_district_unknown"] > 0
    return CheckResult("member_resolution", not found, details, counts, samples[:_SAMPLES])


# --- running them -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildFacts:
    """What a check may look at."""

    tables: Mapping[str, pa.Table]
    today: date
    silver_failures: list[SilverFailure]
    documents_read: int
    previous_counts: Mapping[str, int] | None
    config: QualityConfig


# name -> (severity, check), in the report's order. docs/gold.md says why each is on its side.
CHECKS: dict[str, tuple[Severity, Callable[[BuildFacts], CheckResult]]] = {
    "silver_integrity": ("block", lambda b: check_silver_integrity(b.silver_failures, b.documents_read)),
    "schema": ("block", lambda b: check_schema(b.tables)),
    "unique_keys": ("block", lambda b: check_unique_keys(b.tables)),
    "foreign_keys": ("block", lambda b: check_foreign_keys(b.tables)),
    "amount_bounds": ("block", lambda b: check_amount_bounds(b.tables)),
    "date_range": ("block", lambda b: check_date_range(b.tables, b.today, b.config)),
    "extracted_ptr_has_rows": ("block", lambda b: check_ptr_rows(b.tables)),
    "volume": ("block", lambda b: check_volume(_row_counts(b.tables), b.previous_counts, b.config)),
    "notification_not_before_transaction": (
        "flag",
        lambda b: check_row_flags("notification_not_before_transaction", b.tables, b.today, b.config),
    ),
    "transaction_date_range": (
        "flag",
        lambda b: check_row_flags("transaction_date_range", b.tables, b.today, b.config),
    ),
    "dates_not_after_disclosure": (
        "flag",
        lambda b: check_row_flags("dates_not_after_disclosure", b.tables, b.today, b.config),
    ),
    "trade_chain": ("block", lambda b: check_trade_chain(b.tables)),
    "corrections": ("flag", lambda b: report_corrections(b.tables, b.today, b.config)),
    "member_resolution": ("flag", lambda b: report_members(b.tables)),
}
CHECK_NAMES = tuple(CHECKS)


def _row_counts(tables: Mapping[str, pa.Table]) -> dict[str, int]:
    return {name: table.num_rows for name, table in tables.items()}


def _run(
    name: str, severity: Severity, check: Callable[[BuildFacts], CheckResult], facts: BuildFacts
) -> CheckResult:
    try:
        result = check(facts)
    except (KeyError, pa.ArrowException, TypeError) as exc:
        # A check that crashes (e.g. on a table with the wrong schema) blocks, a flag check too:
        # it counted nothing, so nothing says the rows are only the filer's inconsistencies.
        return CheckResult(name, False, f"check could not run: {type(exc).__name__}: {exc}")
    result.severity = severity
    return result


def apply_overrides(checks: list[CheckResult], overrides: Mapping[str, str] | None) -> QualityReport:
    overrides = dict(overrides or {})
    for check in checks:
        reason = overrides.pop(check.name, None)
        if reason and not check.ok:
            check.overridden, check.override_reason = True, reason
        elif reason:
            overrides[check.name] = reason  # the check passed or only flags: nothing to override
    return QualityReport(checks, unused_overrides=overrides)


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
    facts = BuildFacts(tables, today, silver_failures or [], documents_read, previous_counts, config)
    report = apply_overrides([_run(name, *spec, facts) for name, spec in CHECKS.items()], overrides)
    report.rows_by_source = rows_by_source(tables)
    return report
