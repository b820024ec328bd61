"""Parquet schemas of the silver year tables and of every Gold table: the single place for them.

Amounts are dollars as float64: range bounds are whole dollars and the rare exact amounts
(`$350.78`) have cents, which float64 holds exactly enough for sums and display.
Dates are date32; instants are UTC timestamps in microseconds.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")


def _schema(*fields: tuple[str, pa.DataType] | tuple[str, pa.DataType, bool]) -> pa.Schema:
    """Build a schema from (name, type[, nullable]) tuples; nullable unless told otherwise."""
    return pa.schema([pa.field(f[0], f[1], nullable=f[2] if len(f) == 3 else True) for f in fields])


# --- Silver year tables (compacted from the per-document records) ---------------------------

FILINGS = _schema(
    ("doc_id", pa.string(), False),
    ("year", pa.int32(), False),
    ("prefix", pa.string()),
    ("first", pa.string()),
    ("last", pa.string()),
    ("suffix", pa.string()),
    ("filing_type", pa.string()),
    ("state_district", pa.string()),
    ("filing_date", pa.date32()),
)

DOCUMENTS = _schema(
    ("doc_id", pa.string(), False),
    ("year", pa.int32(), False),
    ("filing_type", pa.string()),
    ("filing_date", pa.date32()),
    ("source_url", pa.string()),
    ("bronze_key", pa.string()),
    ("sha256", pa.string()),
    ("run_id", pa.string()),
    ("extraction_status", pa.string(), False),
    ("failure_reason", pa.string()),
    ("rendering", pa.string()),
    ("pages", pa.int32()),
    ("filer_name", pa.string()),
    ("filer_status", pa.string()),
    ("header_state_district", pa.string()),
    ("signature_date", pa.date32()),
    ("transaction_count", pa.int32(), False),
    ("warnings", pa.list_(pa.string())),
    ("parser_version", pa.string()),
    ("extracted_at", _TS),
    ("silver_key", pa.string(), False),
)

TRANSACTIONS = _schema(
    ("doc_id", pa.string(), False),
    ("year", pa.int32(), False),
    ("row", pa.int32(), False),
    ("page", pa.int32()),
    ("owner", pa.string()),
    ("asset_name", pa.string()),
    ("ticker", pa.string()),
    ("asset_type", pa.string()),
    ("transaction_type", pa.string()),
    ("transaction_date", pa.date32()),
    ("notification_date", pa.date32()),
    ("amount_low", pa.float64()),
    ("amount_high", pa.float64()),
    ("cap_gains_over_200", pa.bool_()),
    ("filing_status", pa.string()),
    ("transaction_id", pa.string()),  # the Clerk's ID, printed on amended and deleted rows
    ("description", pa.string()),
    ("subholding_of", pa.string()),
    ("location", pa.string()),
    ("comments", pa.string()),
    ("confidence", pa.float64()),
    ("source", pa.string(), False),  # "efiled" or "ocr" (older silver rows: "efiled")
    ("needs_review", pa.list_(pa.string()), False),  # why a person should check the row ([] for none)
)

SILVER_TABLES: dict[str, pa.Schema] = {
    "filings": FILINGS,
    "documents": DOCUMENTS,
    "transactions": TRANSACTIONS,
}

# --- Gold ------------------------------------------------------------------------------------

DIM_MEMBER = _schema(
    ("member_key", pa.string(), False),
    ("bioguide_id", pa.string()),
    ("resolved", pa.bool_(), False),
    ("match_method", pa.string(), False),
    ("match_score", pa.float64()),
    ("filer_kind", pa.string(), False),
    ("filer_name", pa.string()),
    ("first_name", pa.string()),
    ("last_name", pa.string()),
    ("official_name", pa.string()),
    ("state_district", pa.string()),
    ("state", pa.string()),
    ("district", pa.int32()),
    ("party", pa.string()),
    ("term_start", pa.date32()),
    ("term_end", pa.date32()),
)

DIM_ASSET = _schema(
    ("asset_key", pa.string(), False),
    ("asset_name", pa.string()),
    ("ticker", pa.string()),
    ("asset_type", pa.string()),
    ("asset_type_meaning", pa.string()),
)

FACT_TRANSACTIONS = _schema(
    ("transaction_key", pa.string(), False),
    ("filing_key", pa.string(), False),
    ("member_key", pa.string(), False),
    ("asset_key", pa.string(), False),
    ("doc_id", pa.string(), False),
    ("year", pa.int32(), False),
    ("row", pa.int32(), False),
    ("page", pa.int32()),
    ("owner", pa.string()),
    ("ticker", pa.string()),
    ("asset_type", pa.string()),
    ("transaction_type", pa.string()),
    ("side", pa.string()),
    ("transaction_date", pa.date32()),
    ("notification_date", pa.date32()),
    ("disclosure_date", pa.date32()),
    ("lag_basis", pa.string()),
    ("disclosure_lag_days", pa.int32()),
    ("is_late", pa.bool_()),
    ("amount_low", pa.float64()),
    ("amount_high", pa.float64()),
    ("amount_midpoint", pa.float64()),
    ("cap_gains_over_200", pa.bool_()),
    ("filing_status", pa.string()),
    ("transaction_id", pa.string()),
    ("description", pa.string()),
    ("subholding_of", pa.string()),
    ("comments", pa.string()),
    ("confidence", pa.float64()),
    ("source", pa.string(), False),
    ("needs_review", pa.list_(pa.string()), False),
    ("source_url", pa.string()),
    # Names of the quality flags the row raises (quality.ROW_FLAGS): a filer's own inconsistency.
    ("quality_flags", pa.list_(pa.string()), False),
    # Who filed, in force on the trade date (docs/gold.md "Member resolution").
    ("bioguide_id", pa.string()),
    ("party", pa.string()),
    ("state", pa.string()),
    ("district", pa.int32()),
    ("filer_kind", pa.string()),
    ("member_match_method", pa.string()),
    ("member_match_score", pa.float64()),
    # Corrections and copies (services/build_gold/corrections.py): only counted rows aggregate.
    ("trade_status", pa.string(), False),
    ("counted", pa.bool_(), False),
    ("supersedes", pa.string()),
    ("superseded_by", pa.string()),
    ("correction_match", pa.string()),
    ("correction_score", pa.float64()),
    ("correction_candidates", pa.list_(pa.string())),
    ("duplicate_of", pa.string()),
    ("also_filed_in", pa.list_(pa.string())),
)

FACT_FILINGS = _schema(
    ("filing_key", pa.string(), False),
    ("doc_id", pa.string(), False),
    ("year", pa.int32(), False),
    ("member_key", pa.string(), False),
    ("match_method", pa.string(), False),
    ("match_score", pa.float64()),
    ("filer_kind", pa.string(), False),
    ("filing_type", pa.string()),
    ("filing_date", pa.date32()),
    ("signature_date", pa.date32()),
    ("in_index", pa.bool_(), False),
    ("rendering", pa.string()),
    ("pages", pa.int32()),
    ("extraction_status", pa.string(), False),
    ("failure_reason", pa.string()),
    ("transaction_count", pa.int32(), False),
    ("parser_version", pa.string()),
    ("extracted_at", _TS),
    ("source_url", pa.string()),
    ("bronze_key", pa.string()),
    ("sha256", pa.string()),
)

AGG_TRENDING_TICKERS = _schema(
    ("window_days", pa.int32(), False),
    ("anchor_date", pa.date32(), False),
    ("window_start", pa.date32(), False),
    ("rank", pa.int32(), False),
    ("ticker", pa.string(), False),
    ("buyers", pa.int32(), False),
    ("sellers", pa.int32(), False),
    ("members", pa.int32(), False),
    ("trades", pa.int32(), False),
    ("buys", pa.int32(), False),
    ("sells", pa.int32(), False),
    ("amount_low_sum", pa.float64()),
    ("amount_high_sum", pa.float64()),
)

AGG_MEMBER_STATS = _schema(
    ("member_key", pa.string(), False),
    ("bioguide_id", pa.string()),
    ("trades", pa.int32(), False),
    ("buys", pa.int32(), False),
    ("sells", pa.int32(), False),
    ("amount_low_sum", pa.float64()),
    ("amount_high_sum", pa.float64()),
    ("tickers", pa.int32(), False),
    ("ptr_filings", pa.int32(), False),
    ("late_trades", pa.int32(), False),
    ("late_filings", pa.int32(), False),
    ("median_lag_days", pa.float64()),
    ("first_transaction_date", pa.date32()),
    ("last_transaction_date", pa.date32()),
    ("last_disclosure_date", pa.date32()),
)

AGG_DOCUMENT_QUALITY = _schema(
    ("filing_type", pa.string()),
    ("rendering", pa.string()),
    ("filings", pa.int32(), False),
    ("extracted", pa.int32(), False),
    ("needs_ocr", pa.int32(), False),
    ("failed", pa.int32(), False),
    ("missing", pa.int32(), False),
    ("coverage", pa.float64(), False),
    ("transactions", pa.int32(), False),
    ("needs_review_transactions", pa.int32(), False),
    ("mean_confidence", pa.float64()),
)

GOLD_TABLES: dict[str, pa.Schema] = {
    "dim_member": DIM_MEMBER,
    "dim_asset": DIM_ASSET,
    "fact_transactions": FACT_TRANSACTIONS,
    "fact_filings": FACT_FILINGS,
    "agg_trending_tickers": AGG_TRENDING_TICKERS,
    "agg_member_stats": AGG_MEMBER_STATS,
    "agg_document_quality": AGG_DOCUMENT_QUALITY,
}

# Tables written as one file per filing year (the rest are small enough for one file).
PARTITIONED_BY_YEAR = frozenset({"fact_transactions", "fact_filings"})
