"""Silver year tables -> Gold: dimensions, facts and aggregates.

Keys (all deterministic, so a rebuild from the same silver changes none):
- filing_key `"{year}-{doc_id}"`;
- member_key: the bioguide ID, or `filer-<hash>` of the filed name and seat when unresolved;
- asset_key: hash of (ticker, normalized asset name, asset-type code);
- transaction_key: hash of the row's content, not of its position: filing_key, owner, asset
  (ticker, else normalized name), asset type, subholding, transaction type, date and amount
  bounds, plus an ordinal among rows identical on all of these (in row order). It survives a
  re-parse that renumbers or splits rows and one that fixes a description, comment, cap-gains
  box or confidence; a fix of one of the identity fields makes it a different fact, new key.

Corrections and the same trade filed twice are reconciled across every year (see
`corrections`): every row stays, only `counted` rows enter the aggregates.

Disclosure lag = disclosure date - transaction date, where the disclosure date is the index
FilingDate, else the document's filing date, else the header's signature date, else the
notification date (`lag_basis` says which). Late when the lag is over 45 days (STOCK Act).
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from services.build_gold import schemas
from services.build_gold.amounts import amount_sums, ceiling
from services.build_gold.corrections import TradeRow, first_of_chain, reconcile
from services.build_gold.members import Filer, MemberMatch, MemberResolver, member_key
from services.common import states

LATE_AFTER_DAYS = 45
TRENDING_WINDOWS = (7, 30, 90)

# The Clerk's asset-type codes (PTR "[XX]" after the asset name).
ASSET_TYPES: dict[str, str] = {
    "4K": "401K and Other Non-Federal Retirement Accounts",
    "5C": "529 College Savings Plan",
    "5F": "529 Portfolio",
    "5P": "529 Prepaid Tuition Plan",
    "AB": "Asset-Backed Securities",
    "BA": "Bank Accounts, Money Market Accounts and CDs",
    "BK": "Brokerage Accounts",
    "CO": "Collectibles",
    "CS": "Corporate Securities (Bonds and Notes)",
    "CT": "Cryptocurrency",
    "DB": "Defined Benefit Pension Plan",
    "DO": "Debts Owed to the Filer",
    "DS": "Delaware Statutory Trust",
    "EF": "Exchange Traded Funds (ETF)",
    "EQ": "Excepted/Qualified Blind Trust",
    "ET": "Exchange Traded Notes",
    "FA": "Farms",
    "FE": "Foreign Exchange Position (Currency)",
    "FN": "Fixed Annuity",
    "FU": "Futures",
    "GS": "Government Securities and Agency Debt",
    "HE": "Hedge Funds & Private Equity Funds (EIF)",
    "HN": "Hedge Funds & Private Equity Funds (non-EIF)",
    "IC": "Investment Club",
    "IH": "IRA (Held in Cash)",
    "IP": "Intellectual Property & Royalties",
    "IR": "IRA",
    "MA": "Managed Accounts (e.g., SMA and UMA)",
    "MF": "Mutual Funds",
    "MO": "Mineral/Oil/Gas Rights",
    "OI": "Ownership Interest (Holding Investments)",
    "OL": "Ownership Interest (Engaged in a Trade or Business)",
    "OP": "Options",
    "OT": "Other",
    "PE": "Pensions",
    "PM": "Precious Metals",
    "PS": "Stock (Not Publicly Traded)",
    "RE": "Real Estate Invest. Trust (REIT)",
    "RP": "Real Property",
    "RS": "Restricted Stock Units (RSUs)",
    "SA": "Stock Appreciation Right",
    "ST": "Stocks (including ADRs)",
    "TR": "Trust",
    "VA": "Variable Annuity",
    "VI": "Variable Insurance",
    "WU": "Whole/Universal Insurance",
}


@dataclass(frozen=True)
class SilverTables:
    """The silver year tables of every year in Gold, concatenated."""

    filings: pa.Table
    documents: pa.Table
    transactions: pa.Table


def _hash(*parts: object, length: int = 20) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _norm(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).strip()


def _amount(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _sort_key(*values: Any) -> tuple:
    """None-safe ordering key: nulls last."""
    return tuple((v is None, v if v is not None else "") for v in values)


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def side(transaction_type: str | None) -> str | None:
    """'P' buy; 'S' and 'S (partial)' sell; 'E' exchange."""
    code = (transaction_type or "").strip().upper()[:1]
    return {"P": "buy", "S": "sell", "E": "exchange"}.get(code)


def asset_key(row: dict[str, Any]) -> str:
    return _hash((row["ticker"] or "").upper(), _norm(row["asset_name"]), row["asset_type"] or "")


def disclosure(filing: dict[str, Any], notification_date: date | None) -> tuple[date | None, str | None]:
    """The date a trade became public, and which field gave it."""
    for basis, value in (
        ("filing_date", filing["filing_date"]),
        ("signature_date", filing["signature_date"]),
        ("notification_date", notification_date),
    ):
        if value is not None:
            return value, basis
    return None, None


def lag_days(disclosed: date | None, traded: date | None) -> int | None:
    return None if disclosed is None or traded is None else (disclosed - traded).days


# --- filings and members ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ResolvedFiling:
    filer: Filer
    match: MemberMatch
    member_key: str
    row: dict[str, Any]  # fact_filings row


def _filer(index: dict[str, Any] | None, document: dict[str, Any] | None, filing_date: date | None) -> Filer:
    index = index or {}
    document = document or {}
    return Filer(
        first=index.get("first"),
        last=index.get("last"),
        state_district=index.get("state_district"),
        header_name=document.get("filer_name"),
        header_state_district=document.get("header_state_district"),
        filing_date=filing_date,
        filing_type=index.get("filing_type") or document.get("filing_type"),
        header_status=document.get("filer_status"),
    )


def _resolve_filings(silver: SilverTables, resolver: MemberResolver) -> list[_ResolvedFiling]:
    """One fact_filings row per (year, doc_id) in the index or in silver documents."""
    index = {(r["year"], r["doc_id"]): r for r in silver.filings.to_pylist()}
    documents = {(r["year"], r["doc_id"]): r for r in silver.documents.to_pylist()}
    resolved = []
    for year, doc_id in sorted(index.keys() | documents.keys()):
        entry, doc = index.get((year, doc_id)), documents.get((year, doc_id))
        filing_date = (entry or {}).get("filing_date") or (doc or {}).get("filing_date")
        filer = _filer(entry, doc, filing_date)
        match = resolver.resolve(filer)
        key = member_key(filer, match)
        doc = doc or {}
        row = {
            "filing_key": f"{year}-{doc_id}",
            "doc_id": doc_id,
            "year": year,
            "member_key": key,
            "match_method": match.method,
            "match_score": match.score,
            "filer_kind": match.kind,
            "filing_type": (entry or {}).get("filing_type") or doc.get("filing_type"),
            "filing_date": filing_date,
            "signature_date": doc.get("signature_date"),
            "in_index": entry is not None,
            "rendering": doc.get("rendering"),
            "pages": doc.get("pages"),
            # A filing with no document record was never fetched (404) or not yet extracted.
            "extraction_status": states.public_status(
                states.read_silver(doc["extraction_status"], ocr=False) if doc else None),
            "failure_reason": doc.get("failure_reason"),
            "transaction_count": doc.get("transaction_count", 0),
            "parser_version": doc.get("parser_version"),
            "extracted_at": doc.get("extracted_at"),
            "source_url": doc.get("source_url"),
            "bronze_key": doc.get("bronze_key"),
            "sha256": doc.get("sha256"),
        }
        resolved.append(_ResolvedFiling(filer, match, key, row))
    return resolved


def _member_row(key: str, filings: list[_ResolvedFiling]) -> dict[str, Any]:
    # The latest filing names the filer; the most confident match describes the resolution.
    latest = max(filings, key=lambda f: (f.row["filing_date"] or date.min, f.row["doc_id"]))
    best = max(
        filings, key=lambda f: (f.match.score or 0.0, f.row["filing_date"] or date.min, f.row["doc_id"])
    )
    match, filer = best.match, latest.filer
    leg, term = match.legislator, match.term
    filed_name = " ".join(p for p in (filer.first, filer.last) if p) or filer.header_name
    return {
        "member_key": key,
        "bioguide_id": match.bioguide_id,
        "resolved": match.resolved,
        "match_method": match.method,
        "match_score": match.score,
        "filer_kind": match.kind,
        "filer_name": filed_name,
        "first_name": leg.first if leg else filer.first,
        "last_name": leg.last if leg else filer.last,
        "official_name": leg.official_name if leg else None,
        # The seat of the term the match found (a member who moved districts still files under
        # the old one for a while); what the filer wrote when no one was matched.
        "state_district": (f"{term.state}{term.district:02d}" if term and term.district is not None
                           else filer.state_district or filer.header_state_district),
        "state": term.state if term else None,
        "district": term.district if term else None,
        "party": term.party if term else None,
        "term_start": term.start if term else None,
        "term_end": term.end if term else None,
    }


def build_dim_member(resolved: list[_ResolvedFiling]) -> pa.Table:
    by_member: dict[str, list[_ResolvedFiling]] = defaultdict(list)
    for filing in resolved:
        by_member[filing.member_key].append(filing)
    rows = [_member_row(key, by_member[key]) for key in sorted(by_member)]
    return _table(rows, schemas.DIM_MEMBER)


# --- assets and transactions ------------------------------------------------------------------


def build_dim_asset(transactions: list[dict[str, Any]]) -> pa.Table:
    names: dict[str, Counter[str]] = defaultdict(Counter)
    first_seen: dict[str, dict[str, Any]] = {}
    for row in transactions:
        key = asset_key(row)
        first_seen.setdefault(key, row)
        if row["asset_name"]:
            names[key][row["asset_name"]] += 1
    rows = []
    for key in sorted(first_seen):
        row = first_seen[key]
        # Spellings differing only in case or punctuation share a key: show the most common.
        spelled = min(names[key].items(), key=lambda kv: (-kv[1], kv[0]))[0] if names[key] else None
        code = row["asset_type"]
        rows.append(
            {
                "asset_key": key,
                "asset_name": spelled,
                "ticker": row["ticker"].upper() if row["ticker"] else None,
                "asset_type": code,
                "asset_type_meaning": ASSET_TYPES.get(code.upper()) if code else None,
            }
        )
    return _table(rows, schemas.DIM_ASSET)


def _identity(filing_key: str, row: dict[str, Any]) -> tuple[str, ...]:
    return (
        filing_key,
        row["owner"] or "",
        (row["ticker"] or "").upper() or _norm(row["asset_name"]),
        row["asset_type"] or "",
        _norm(row["subholding_of"]),
        (row["transaction_type"] or "").strip().upper(),
        str(row["transaction_date"] or ""),
        _amount(row["amount_low"]),
        _amount(row["amount_high"]),
    )


def transaction_keys(filing_key: str, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Content keys of one filing's rows (given in row order); see the module docstring."""
    seen: Counter[tuple[str, ...]] = Counter()
    keys = []
    for row in rows:
        identity = _identity(filing_key, row)
        keys.append(_hash("txn-v1", *identity, seen[identity]))
        seen[identity] += 1
    return keys


def _fact_transaction(
    key: str, row: dict[str, Any], filing: dict[str, Any], match: MemberMatch | None
) -> dict[str, Any]:
    disclosed, basis = disclosure(filing, row["notification_date"])
    state, district, party = match.on(row["transaction_date"]) if match else (None, None, None)
    lag = lag_days(disclosed, row["transaction_date"])
    low, high = row["amount_low"], row["amount_high"]
    return {
        "transaction_key": key,
        "filing_key": filing["filing_key"],
        "member_key": filing["member_key"],
        "asset_key": asset_key(row),
        "doc_id": row["doc_id"],
        "year": row["year"],
        "row": row["row"],
        "page": row["page"],
        "owner": row["owner"],
        "ticker": row["ticker"].upper() if row["ticker"] else None,
        "asset_type": row["asset_type"],
        "transaction_type": row["transaction_type"],
        "side": side(row["transaction_type"]),
        "transaction_date": row["transaction_date"],
        "notification_date": row["notification_date"],
        "disclosure_date": disclosed,
        "lag_basis": basis,
        "disclosure_lag_days": lag,
        "is_late": None if lag is None else lag > LATE_AFTER_DAYS,
        "amount_low": low,
        "amount_high": high,
        # Open-ended ranges ("Over $50,000,000") have no midpoint.
        "amount_midpoint": None if low is None or high is None else (low + high) / 2,
        "cap_gains_over_200": row["cap_gains_over_200"],
        "filing_status": row["filing_status"],
        "transaction_id": row["transaction_id"],
        "description": row["description"],
        "subholding_of": row["subholding_of"],
        "comments": row["comments"],
        "confidence": row["confidence"],
        "source": row["source"],
        "needs_review": row["needs_review"],
        "source_url": filing["source_url"],
        "quality_flags": [],  # set by quality.flag_rows once the build knows its date
        # Who filed, as in force on the trade date (the filing's term when none covers it).
        "bioguide_id": match.bioguide_id if match else None,
        "party": party,
        "state": state,
        "district": district,
        "filer_kind": match.kind if match else None,
        "member_match_method": filing["match_method"],
        "member_match_score": filing["match_score"],
    }


def _trade_row(fact: dict[str, Any], row: dict[str, Any], filing: dict[str, Any]) -> TradeRow:
    return TradeRow(
        key=fact["transaction_key"],
        filing_key=fact["filing_key"],
        member_key=fact["member_key"],
        filing_order=_sort_key(filing["filing_date"], filing["doc_id"]),
        row=row["row"],
        filing_status=row["filing_status"],
        transaction_id=row["transaction_id"],
        owner=row["owner"],
        ticker=row["ticker"],
        asset_name=row["asset_name"],
        transaction_type=row["transaction_type"],
        transaction_date=row["transaction_date"],
        amount_low=row["amount_low"],
        amount_high=row["amount_high"],
        subholding_of=row["subholding_of"],
        source=row["source"] or "efiled",
    )


def build_fact_transactions(
    transactions: list[dict[str, Any]],
    filings: dict[str, dict[str, Any]],
    matches: dict[str, MemberMatch] | None = None,
) -> pa.Table:
    by_filing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in transactions:
        by_filing[f"{row['year']}-{row['doc_id']}"].append(row)
    facts, trade_rows = [], []
    for filing_key in sorted(by_filing):
        rows = sorted(by_filing[filing_key], key=lambda r: r["row"])
        filing = filings[filing_key]
        for key, row in zip(transaction_keys(filing_key, rows), rows, strict=True):
            fact = _fact_transaction(key, row, filing, (matches or {}).get(filing_key))
            facts.append(fact)
            trade_rows.append(_trade_row(fact, row, filing))
    outcomes = reconcile(trade_rows)
    for fact in facts:
        outcome = outcomes[fact["transaction_key"]]
        fact |= {
            "trade_status": outcome.trade_status,
            "counted": outcome.counted,
            "supersedes": outcome.supersedes,
            "superseded_by": outcome.superseded_by,
            "correction_match": outcome.correction_match,
            "correction_score": outcome.correction_score,
            "correction_candidates": outcome.correction_candidates,
            "duplicate_of": outcome.duplicate_of,
            "also_filed_in": outcome.also_filed_in,
        }
    _lag_from_first_disclosure(facts)
    return _table(facts, schemas.FACT_TRANSACTIONS)


def _lag_from_first_disclosure(facts: list[dict[str, Any]]) -> None:
    """An amendment's trade became public with the row it corrects: its lag (and lateness) runs
    to that first disclosure, not to the amendment's own filing, which may come months later."""
    by_key = {f["transaction_key"]: f for f in facts}
    for fact in facts:
        first = first_of_chain(by_key, fact)
        if first is fact or first["disclosure_date"] is None or fact["transaction_date"] is None:
            continue
        lag = (first["disclosure_date"] - fact["transaction_date"]).days
        fact |= {"disclosure_lag_days": lag, "is_late": lag > LATE_AFTER_DAYS, "lag_basis": "original_disclosure"}


# --- aggregates -------------------------------------------------------------------------------


def build_trending_tickers(facts: list[dict[str, Any]]) -> pa.Table:
    """Tickers disclosed in the last 7/30/90 days, anchored on the latest disclosure (not today)."""
    dated = [f for f in facts if f["disclosure_date"] is not None and f["ticker"]]
    if not dated:
        return _table([], schemas.AGG_TRENDING_TICKERS)
    anchor = max(f["disclosure_date"] for f in dated)
    rows = []
    for window in TRENDING_WINDOWS:
        start = anchor - timedelta(days=window - 1)
        by_ticker: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for fact in dated:
            if start <= fact["disclosure_date"] <= anchor:
                by_ticker[fact["ticker"]].append(fact)
        stats = [_ticker_stats(ticker, trades) for ticker, trades in by_ticker.items()]
        stats.sort(
            key=lambda s: (
                -s["buyers"],
                -s["trades"],
                -ceiling(s["amount_low_sum"], s["amount_high_sum"]),
                s["ticker"],
            )
        )
        for rank, stat in enumerate(stats, start=1):
            rows.append(
                {"window_days": window, "anchor_date": anchor, "window_start": start, "rank": rank, **stat}
            )
    return _table(rows, schemas.AGG_TRENDING_TICKERS)


def _ticker_stats(ticker: str, trades: list[dict[str, Any]]) -> dict[str, Any]:
    buys = [t for t in trades if t["side"] == "buy"]
    sells = [t for t in trades if t["side"] == "sell"]
    return {
        "ticker": ticker,
        "buyers": len({t["member_key"] for t in buys}),
        "sellers": len({t["member_key"] for t in sells}),
        "members": len({t["member_key"] for t in trades}),
        "trades": len(trades),
        "buys": len(buys),
        "sells": len(sells),
        **amount_sums(trades),
    }


def build_member_stats(
    facts: list[dict[str, Any]], filings: list[dict[str, Any]], members: pa.Table
) -> pa.Table:
    trades: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fact in facts:
        trades[fact["member_key"]].append(fact)
    ptr_filings = Counter(f["member_key"] for f in filings if f["filing_type"] == "P")
    bioguide = dict(zip(members["member_key"].to_pylist(), members["bioguide_id"].to_pylist(), strict=True))
    rows = []
    for key in sorted(trades.keys() | ptr_filings.keys()):
        own = trades.get(key, [])
        lags = [t["disclosure_lag_days"] for t in own if t["disclosure_lag_days"] is not None]
        traded = [t["transaction_date"] for t in own if t["transaction_date"]]
        disclosed = [t["disclosure_date"] for t in own if t["disclosure_date"]]
        rows.append(
            {
                "member_key": key,
                "bioguide_id": bioguide.get(key),
                "trades": len(own),
                "buys": sum(t["side"] == "buy" for t in own),
                "sells": sum(t["side"] == "sell" for t in own),
                **amount_sums(own),
                "tickers": len({t["ticker"] for t in own if t["ticker"]}),
                "ptr_filings": ptr_filings.get(key, 0),
                "late_trades": sum(bool(t["is_late"]) for t in own),
                "late_filings": len({t["filing_key"] for t in own if t["is_late"]}),
                "median_lag_days": float(statistics.median(lags)) if lags else None,
                "first_transaction_date": min(traded, default=None),
                "last_transaction_date": max(traded, default=None),
                "last_disclosure_date": max(disclosed, default=None),
            }
        )
    return _table(rows, schemas.AGG_MEMBER_STATS)


def build_document_quality(filings: list[dict[str, Any]], facts: list[dict[str, Any]]) -> pa.Table:
    """Extraction coverage by filing type and rendering. A scanned group's `extracted` filings were
    read by the OCR stage, its `failed` ones are still unreadable (fact_filings names the reason:
    handwritten, not_ptr, ...), its `needs_ocr` ones are not PTRs, which are not OCR'd."""
    confidence: dict[str, list[float]] = defaultdict(list)
    review: Counter[str] = Counter()
    for fact in facts:
        if fact["confidence"] is not None:
            confidence[fact["filing_key"]].append(fact["confidence"])
        review[fact["filing_key"]] += bool(fact["needs_review"])
    groups: dict[tuple[str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for filing in filings:
        groups[(filing["filing_type"], filing["rendering"])].append(filing)
    rows = []
    for filing_type, rendering in sorted(groups, key=lambda g: _sort_key(*g)):
        group = groups[(filing_type, rendering)]
        status = Counter(f["extraction_status"] for f in group)
        scores = [c for f in group for c in confidence.get(f["filing_key"], [])]
        rows.append(
            {
                "filing_type": filing_type,
                "rendering": rendering,
                "filings": len(group),
                "extracted": status["extracted"],
                "needs_ocr": status["needs_ocr"],
                "failed": status["failed"],
                "missing": status["missing"],
                "coverage": status["extracted"] / len(group),
                "transactions": sum(f["transaction_count"] for f in group),
                "needs_review_transactions": sum(review[f["filing_key"]] for f in group),
                "mean_confidence": statistics.fmean(scores) if scores else None,
            }
        )
    return _table(rows, schemas.AGG_DOCUMENT_QUALITY)


# --- entry point ------------------------------------------------------------------------------


def build_gold_tables(silver: SilverTables, resolver: MemberResolver) -> dict[str, pa.Table]:
    """Every Gold table, keyed by name (the names of `schemas.GOLD_TABLES`)."""
    resolved = _resolve_filings(silver, resolver)
    filing_rows = [f.row for f in resolved]
    by_key = {f["filing_key"]: f for f in filing_rows}
    matches = {f.row["filing_key"]: f.match for f in resolved}
    transactions = silver.transactions.to_pylist()
    dim_member = build_dim_member(resolved)
    fact_transactions = build_fact_transactions(transactions, by_key, matches)
    every_row = fact_transactions.to_pylist()
    # Superseded, deleted and duplicate rows stay in the facts and leave every trading aggregate;
    # extraction quality is about what was read, so it keeps them.
    facts = [f for f in every_row if f["counted"]]
    return {
        "dim_member": dim_member,
        "dim_asset": build_dim_asset(transactions),
        "fact_transactions": fact_transactions,
        "fact_filings": _table(filing_rows, schemas.FACT_FILINGS),
        "agg_trending_tickers": build_trending_tickers(facts),
        "agg_member_stats": build_member_stats(facts, filing_rows, dim_member),
        "agg_document_quality": build_document_quality(filing_rows, every_row),
    }
