"""Gold as its consumers read it: the live version's tables in memory, and the answers computed from them.

`GoldData` holds one Gold version (read with pyarrow from the gold bucket) plus the indexes the
routes need; filtered trade queries run on it with pyarrow compute (a mask, then a precomputed
sort order, then one page of rows). The answers that do not depend on a query (summary, latest
trades, trending, each member, each ticker) are functions of `GoldData` too: `publish_api`
calls the same functions to precompute them into the site bucket, so the cache and the live
answer cannot disagree.

`LiveStore` decides which version is live: the one `publish_api` last published
(`api/meta.json` in the site bucket), else the Gold pointer. It looks again at most every
`API_VERSION_TTL_S` seconds and keeps the loaded version in memory until a new one appears.
It reads a precomputed answer from the prefix the meta it loaded names, and only when that
meta names the version in memory; each version has its own prefix, so an answer and the data
beside it are always of one version.
"""

from __future__ import annotations

import gc
import io
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from services.build_gold import schemas
from services.build_gold.amounts import amount_sums
from services.build_gold.corrections import first_of_chain
from services.common import keys, objects
from services.common.config import FunctionSettings
from services.common.documents import GoldManifest, SiteMeta, read_manifest, read_pointer, read_site_meta

CLERK_URL = "https://disclosures-clerk.house.gov"
STALE_AFTER_HOURS = 48.0
TRENDING_WINDOWS = (7, 30, 90)
LATEST_TRADES = 50
DETAIL_PAGE = 50  # a member or ticker answer holds the first page of each list; the list routes page on
SEARCH_LIMIT = 10

TRADE_COLUMNS = [
    "transaction_key", "filing_key", "doc_id", "year", "member_key", "owner", "ticker", "asset_type",
    "transaction_type", "side", "transaction_date", "notification_date", "disclosure_date",
    "disclosure_lag_days", "is_late", "amount_low", "amount_high", "cap_gains_over_200",
    "filing_status", "description", "comments", "source_url",
    "transaction_id", "trade_status", "counted", "supersedes", "superseded_by", "correction_match",
    "correction_score", "correction_candidates", "duplicate_of", "also_filed_in", "filer_kind",
]  # fmt: skip
# Columns a Gold version published before the OCR stage lacks, with what they meant then: every
# row was read from the e-filed text layer and nothing was flagged for review.
OCR_COLUMNS: dict[str, pa.Array] = {
    "page": pa.scalar(None, pa.int32()), "confidence": pa.scalar(None, pa.float64()),
    "source": pa.scalar("efiled", pa.string()), "needs_review": pa.scalar([], pa.list_(pa.string())),
}

CORRECTION_DEFAULTS: dict[str, pa.Scalar] = {
    "trade_status": pa.scalar("active"), "counted": pa.scalar(True),
    "also_filed_in": pa.scalar([], pa.list_(pa.string())),
    "correction_candidates": pa.scalar([], pa.list_(pa.string())),
}

# sort parameter -> (column, order); a trailing transaction_key keeps pages stable.
SORTS: dict[str, tuple[str, str]] = {
    "transaction_date": ("transaction_date", "ascending"),
    "-transaction_date": ("transaction_date", "descending"),
    "disclosure_date": ("disclosure_date", "ascending"),
    "-disclosure_date": ("disclosure_date", "descending"),
    "amount": ("amount_high", "ascending"),
    "-amount": ("amount_high", "descending"),
    "ticker": ("ticker", "ascending"),
    "-ticker": ("ticker", "descending"),
    "member": ("member_name", "ascending"),
    "-member": ("member_name", "descending"),
}
OWNERS = {"self", "SP", "JT", "DC"}


class DataUnavailable(RuntimeError):
    """No Gold version has been published yet (or it cannot be read)."""


# --- where the precomputed answers live (site bucket) ------------------------------------------
def pdf_url(year: int, doc_id: str, filing_type: str | None) -> str:
    folder = "ptr-pdfs" if filing_type == "P" else "financial-pdfs"
    return f"{CLERK_URL}/public_disc/{folder}/{year}/{doc_id}.pdf"


def _month(d: date | None) -> str | None:
    return f"{d.year:04d}-{d.month:02d}" if d else None


def _page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def _by_month(trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    months: dict[str, dict[str, Any]] = {}
    for t in trades:
        month = _month(t["transaction_date"])
        if month is None:
            continue
        m = months.setdefault(month, {"month": month, "trades": 0, "buys": 0, "sells": 0, "_trades": [],
                                      "amount_mid_sum": 0.0, "buy_mid_sum": 0.0, "sell_mid_sum": 0.0})  # fmt: skip
        mid = midpoint(t["amount_low"], t["amount_high"]) or 0.0
        m["trades"] += 1
        m["buys"] += t["side"] == "buy"
        m["sells"] += t["side"] == "sell"
        m["amount_mid_sum"] += mid
        m["buy_mid_sum"] += mid if t["side"] == "buy" else 0.0
        m["sell_mid_sum"] += mid if t["side"] == "sell" else 0.0
        m["_trades"].append(t)
    out = []
    for month in sorted(months):
        m = months[month]
        own = m.pop("_trades")
        out.append(m | {"amount_high_sum": amount_sums(own)["amount_high_sum"]})
    return out


def amount_reach(trades: pa.Table) -> pa.Array:
    """How far each trade's range reaches: its ceiling, or infinity for an open-ended range
    ("Over $50,000,000"); null when no amount is stated."""
    low, high = trades["amount_low"], trades["amount_high"]
    open_ended = pc.and_(pc.is_null(high), pc.is_valid(low))
    return pc.if_else(open_ended, pa.scalar(float("inf")), pc.coalesce(high, low))


def midpoint(low: float | None, high: float | None) -> float | None:
    """The dollar figure a range stands for in charts: its midpoint ("Over $50,000,000": the floor)."""
    if low is None:
        return high
    return low if high is None else (low + high) / 2


def coverage_of(filings: list[dict[str, Any]]) -> dict[str, int]:
    """How many PTRs (the filings that hold trades) could be read: a trade count is only as complete
    as this. `unreadable` PTRs (on paper awaiting OCR, failed, or not fetched) add no trades."""
    ptrs = [f for f in filings if f["filing_type"] == "P"]
    status = Counter(f["extraction_status"] for f in ptrs)
    return {
        "ptr_filings": len(ptrs),
        "extracted": status["extracted"],
        "needs_ocr": status["needs_ocr"],
        "failed": status["failed"],
        "missing": status["missing"],
        "unreadable": len(ptrs) - status["extracted"],
    }


# --- one Gold version -------------------------------------------------------------------------


@dataclass
class GoldData:
    version: str
    built_at: str | None
    years: list[int]
    row_counts: dict[str, int]
    tables: dict[str, pa.Table]
    trades: pa.Table = field(init=False)  # the counted trades: every total and list
    reach: pa.Array = field(init=False)  # amount_reach of each counted trade: amount filters and sorts
    history: pa.Table = field(init=False)  # every row, superseded, deleted and duplicate ones too
    history_by_key: dict[str, dict[str, Any]] = field(init=False)
    members: dict[str, dict[str, Any]] = field(init=False)
    stats: dict[str, dict[str, Any]] = field(init=False)
    assets: dict[str, str | None] = field(init=False)  # ticker -> most common asset name
    filings: list[dict[str, Any]] = field(init=False)
    filings_by_key: dict[str, dict[str, Any]] = field(init=False)
    _orders: dict[str, pa.Array] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _tickers: list[dict[str, Any]] | None = field(init=False, default=None)
    _trade_rows: list[dict[str, Any]] | None = field(init=False, default=None)
    _groups: dict[str, dict[str, list[int]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.stats = {r["member_key"]: r for r in self.tables["agg_member_stats"].to_pylist()}
        self.members = {}
        for m in self.tables["dim_member"].to_pylist():
            name = m["official_name"] or " ".join(p for p in (m["first_name"], m["last_name"]) if p) or m["filer_name"]
            self.members[m["member_key"]] = m | {"name": name}
        asset_names: dict[str, Counter[str]] = defaultdict(Counter)
        dim_asset = self.tables["dim_asset"]
        for ticker, name in zip(dim_asset["ticker"].to_pylist(), dim_asset["asset_name"].to_pylist(), strict=True):
            if ticker and name:
                asset_names[ticker][name] += 1
        self.assets = {t: c.most_common(1)[0][0] for t, c in asset_names.items()}
        self.history = self._enriched_trades()
        # Amended, deleted and duplicate rows count nowhere; they stay visible in history.
        self.trades = self.history.filter(self.history["counted"])
        self.reach = amount_reach(self.trades)
        self.history_by_key = {r["transaction_key"]: r for r in self.history.to_pylist()}
        self.filings = [self._filing(f) for f in self.tables["fact_filings"].to_pylist()]
        self.filings.sort(key=lambda f: (f["filing_date"] or date.min, f["filing_key"]), reverse=True)
        self.filings_by_key = {f["filing_key"]: f for f in self.filings}

    # -- building
    def _enriched_trades(self) -> pa.Table:
        facts = self.tables["fact_transactions"]
        asset_name_by_key = dict(
            zip(self.tables["dim_asset"]["asset_key"].to_pylist(), self.tables["dim_asset"]["asset_name"].to_pylist(), strict=True)
        )
        member_keys = facts["member_key"].to_pylist()
        columns = {name: facts[name] for name in TRADE_COLUMNS}
        for name, default in OCR_COLUMNS.items():
            columns[name] = facts[name] if name in facts.column_names else pa.repeat(default, facts.num_rows)
        # A Gold version built before corrections were reconciled reads them as nulls: every row counted.
        for name, default in CORRECTION_DEFAULTS.items():
            columns[name] = pc.fill_null(columns[name], default)
        get = self.members.get
        columns["member_name"] = pa.array([(get(k) or {}).get("name") for k in member_keys], pa.string())
        columns["bioguide_id"] = pa.array([(get(k) or {}).get("bioguide_id") for k in member_keys], pa.string())
        # The party in force on the trade date (Gold), else the member's.
        columns["party"] = pc.coalesce(
            facts["party"], pa.array([(get(k) or {}).get("party") for k in member_keys], pa.string())
        )
        columns["state_district"] = pa.array([(get(k) or {}).get("state_district") for k in member_keys], pa.string())
        columns["asset_name"] = pa.array([asset_name_by_key.get(k) for k in facts["asset_key"].to_pylist()], pa.string())
        return pa.table(columns)

    def _filing(self, f: dict[str, Any]) -> dict[str, Any]:
        member = self.members.get(f["member_key"]) or {}
        return {
            "filing_key": f["filing_key"],
            "doc_id": f["doc_id"],
            "year": f["year"],
            "member_key": f["member_key"],
            "member_name": member.get("name"),
            "filing_type": f["filing_type"],
            "filing_date": f["filing_date"],
            "extraction_status": f["extraction_status"],
            "failure_reason": f["failure_reason"],
            "rendering": f["rendering"],
            "pages": f["pages"],
            "transaction_count": f["transaction_count"],
            "source_url": f["source_url"],
            "pdf_url": pdf_url(f["year"], f["doc_id"], f["filing_type"]),
        }

    @property
    def trade_rows(self) -> list[dict[str, Any]]:
        if self._trade_rows is None:
            rows = self.trades.to_pylist()
            with self._lock:
                self._trade_rows = rows
        return self._trade_rows

    def rows_of(self, column: str, value: str) -> list[dict[str, Any]]:
        """The trades whose `column` (member_key, ticker, filing_key) is `value`: one pass per column
        and version, so the answers of a thousand members cost one scan, not a thousand."""
        groups = self._groups.get(column)
        if groups is None:
            built: dict[str, list[int]] = defaultdict(list)
            for i, v in enumerate(self.trades[column].to_pylist()):
                if v is not None:
                    built[v].append(i)
            with self._lock:
                groups = self._groups.setdefault(column, dict(built))
        rows = self.trade_rows
        return [rows[i] for i in groups.get(value, ())]

    def order(self, sort: str) -> pa.Array:
        """Row indices of the trades in the given sort order (computed once per version)."""
        found = self._orders.get(sort)
        if found is None:
            column, direction = SORTS[sort]
            keys = {column: self.reach if column == "amount_high" else self.trades[column]}
            keys["transaction_key"] = self.trades["transaction_key"]
            found = pc.sort_indices(
                pa.table(keys), sort_keys=[(column, direction, "at_end"), ("transaction_key", "ascending", "at_end")]
            )
            with self._lock:
                self._orders[sort] = found
        return found

    # -- members
    def member(self, member_key: str, with_stats: bool = True) -> dict[str, Any] | None:
        m = self.members.get(member_key)
        if m is None:
            return None
        out = {
            "member_key": m["member_key"],
            "name": m["name"],
            "bioguide_id": m["bioguide_id"],
            "resolved": m["resolved"],
            "match_method": m["match_method"],
            "match_score": m["match_score"],
            "filer_name": m["filer_name"],
            "filer_kind": m["filer_kind"],
            "party": m["party"],
            "state": m["state"],
            "district": m["district"],
            "state_district": m["state_district"],
            "stats": None,
        }
        if with_stats and member_key in self.stats:
            out["stats"] = {k: v for k, v in self.stats[member_key].items() if k not in ("member_key", "bioguide_id")}
        return out

    def by_bioguide(self, text: str) -> set[str]:
        """Member keys whose bioguide ID is `text`, in any case."""
        return {
            k
            for k, m in self.members.items()
            if m["bioguide_id"] and m["bioguide_id"].lower() == text.lower()
        }

    def resolve_members(self, text: str) -> set[str]:
        """Member keys for a member parameter: a member key, a bioguide ID, or part of a name."""
        text = text.strip()
        if text in self.members:
            return {text}
        by_bioguide = self.by_bioguide(text)
        if by_bioguide:
            return by_bioguide
        needle = text.lower()
        return {
            k for k, m in self.members.items()
            if needle and any(needle in (m.get(f) or "").lower() for f in ("name", "filer_name", "last_name"))
        }  # fmt: skip

    # -- tickers
    def tickers(self) -> list[dict[str, Any]]:
        if self._tickers is None:
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for t in self.trade_rows:
                if t["ticker"]:
                    groups[t["ticker"]].append(t)
            out = [self._ticker_row(ticker, trades) for ticker, trades in groups.items()]
            out.sort(key=lambda r: (-r["trades"], r["ticker"]))
            self._tickers = out
        return self._tickers

    def _ticker_row(self, ticker: str, trades: list[dict[str, Any]]) -> dict[str, Any]:
        types = Counter(t["asset_type"] for t in trades if t["asset_type"])
        dated = [t["transaction_date"] for t in trades if t["transaction_date"]]
        disclosed = [t["disclosure_date"] for t in trades if t["disclosure_date"]]
        return {
            "ticker": ticker,
            "asset_name": self.assets.get(ticker),
            "asset_type": types.most_common(1)[0][0] if types else None,
            "trades": len(trades),
            "buys": sum(t["side"] == "buy" for t in trades),
            "sells": sum(t["side"] == "sell" for t in trades),
            "members": len({t["member_key"] for t in trades}),
            **amount_sums(trades),
            "last_transaction_date": max(dated, default=None),
            "last_disclosure_date": max(disclosed, default=None),
        }


def _read_table(s3: Any, bucket: str, key_list: list[str], schema: pa.Schema) -> pa.Table:
    parts = []
    for key in key_list:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        parts.append(pq.read_table(io.BytesIO(body), schema=schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def load_gold(s3: Any, manifest: GoldManifest, gold_bucket: str | None = None) -> GoldData:
    """Every Gold table of the version the manifest (or pointer) describes."""
    bucket = manifest.gold_bucket or gold_bucket
    if not bucket:
        raise ValueError(f"manifest of {manifest.version} names no gold bucket")
    tables = {
        name: _read_table(s3, bucket, manifest.tables.get(name, []), schema)
        for name, schema in schemas.GOLD_TABLES.items()
    }
    return GoldData(
        version=manifest.version,
        built_at=manifest.built_at,
        years=list(manifest.years),
        row_counts=dict(manifest.row_counts),
        tables=tables,
    )


# --- answers (shared by the API and publish_api) ----------------------------------------------


def query_trades(
    d: GoldData,
    *,
    member: str | None = None,
    ticker: str | None = None,
    owner: str | None = None,
    side: str | None = None,
    year: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    date_field: str = "transaction_date",
    min_amount: float | None = None,
    max_amount: float | None = None,
    asset_type: str | None = None,
    asset: str | None = None,
    source: str | None = None,
    needs_review: bool | None = None,
    sort: str = "-transaction_date",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    t = d.trades
    masks = []
    if source:
        masks.append(pc.equal(t["source"], source))
    if needs_review is not None:
        flagged = pc.greater(pc.list_value_length(t["needs_review"]), 0)
        masks.append(flagged if needs_review else pc.invert(flagged))
    if asset:
        masks.append(pc.match_substring(t["asset_name"], asset.strip(), ignore_case=True))
    if member:
        masks.append(pc.is_in(t["member_key"], value_set=pa.array(sorted(d.resolve_members(member)), pa.string())))
    if ticker:
        masks.append(pc.equal(t["ticker"], ticker.strip().upper()))
    if owner:
        masks.append(pc.is_null(t["owner"]) if owner == "self" else pc.equal(t["owner"], owner))
    if side:
        masks.append(pc.equal(t["side"], side))
    if year is not None:
        masks.append(pc.equal(t["year"], year))
    if asset_type:
        masks.append(pc.equal(t["asset_type"], asset_type.upper()))
    if date_from is not None:
        masks.append(pc.greater_equal(t[date_field], pa.scalar(date_from, pa.date32())))
    if date_to is not None:
        masks.append(pc.less_equal(t[date_field], pa.scalar(date_to, pa.date32())))
    # Amounts are ranges: a trade matches when its range can reach into [min_amount, max_amount].
    if min_amount is not None:
        masks.append(pc.greater_equal(d.reach, min_amount))
    if max_amount is not None:
        masks.append(pc.less_equal(t["amount_low"], max_amount))
    order = d.order(sort)
    if masks:
        mask = masks[0]
        for m in masks[1:]:
            mask = pc.and_kleene(mask, m)
        mask = pc.fill_null(mask, False)
        indices = pc.filter(order, pc.take(mask, order))
    else:
        indices = order
    total = len(indices)
    rows = t.take(indices[offset : offset + limit]).to_pylist() if offset < total else []
    return _page(rows, total, limit, offset)


def latest_trades(d: GoldData, limit: int = LATEST_TRADES) -> dict[str, Any]:
    page = query_trades(d, sort="-disclosure_date", limit=limit)
    return {"items": page["items"]}


def trending(d: GoldData, window: int) -> dict[str, Any]:
    rows = d.tables["agg_trending_tickers"].filter(pc.equal(d.tables["agg_trending_tickers"]["window_days"], window))
    items = sorted(rows.to_pylist(), key=lambda r: r["rank"])
    return {
        "window_days": window,
        "anchor_date": items[0]["anchor_date"] if items else None,
        "window_start": items[0]["window_start"] if items else None,
        "items": [r | {"asset_name": d.assets.get(r["ticker"])} for r in items],
    }


MEMBER_KINDS = ("member", "unresolved")  # a member's filing that matched no one is still a member's


def list_members(
    d: GoldData, *, q: str | None = None, state: str | None = None, party: str | None = None,
    traded: bool = False, sort: str = "-trades", limit: int = 50, offset: int = 0, kind: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    keys_ = d.resolve_members(q) if q else set(d.members)
    # Candidates and officers are filers, never listed as members unless asked for.
    kinds = (kind,) if kind else MEMBER_KINDS
    rows = [r for k in keys_ if (r := d.member(k)) is not None and (r["filer_kind"] or "unresolved") in kinds]
    if state:
        rows = [r for r in rows if (r["state"] or (r["state_district"] or "")[:2]).upper() == state.upper()]
    if party:
        rows = [r for r in rows if (r["party"] or "").lower() == party.lower()]
    if traded:
        rows = [r for r in rows if r["stats"] and r["stats"]["trades"] > 0]
    if sort in ("name", "-name"):
        rows.sort(key=lambda r: ((r["name"] or "").lower(), r["member_key"]), reverse=sort == "-name")
    else:
        rows.sort(key=lambda r: ((r["name"] or "").lower(), r["member_key"]))
        rows.sort(key=lambda r: r["stats"]["trades"] if r["stats"] else -1, reverse=sort == "-trades")
    return _page(rows[offset : offset + limit], len(rows), limit, offset)


def member_detail(d: GoldData, member_key: str) -> dict[str, Any] | None:
    member = d.member(member_key)
    if member is None:
        return None
    trades = d.rows_of("member_key", member_key)
    tickers = Counter(t["ticker"] for t in trades if t["ticker"])
    filings = [f for f in d.filings if f["member_key"] == member_key]
    first = query_trades(d, member=member_key, limit=DETAIL_PAGE)
    return {
        "member": member,
        "top_tickers": [{"ticker": k, "trades": v} for k, v in sorted(tickers.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        "by_month": _by_month(trades),
        "trades": first["items"],
        "trades_total": first["total"],
        "filings": filings[:DETAIL_PAGE],
        "filings_total": len(filings),
        "coverage": coverage_of(filings),
    }


def list_tickers(d: GoldData, *, q: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    rows = d.tickers()
    if q:
        needle = q.strip().lower()
        rows = [r for r in rows if needle in r["ticker"].lower() or needle in (r["asset_name"] or "").lower()]
    return _page(rows[offset : offset + limit], len(rows), limit, offset)


def ticker_members(d: GoldData, ticker: str, *, limit: int, offset: int = 0) -> dict[str, Any]:
    """The members who traded a ticker, most trades first, a page at a time."""
    by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in d.rows_of("ticker", ticker):
        by_member[t["member_key"]].append(t)
    members = [
        {
            "member_key": key,
            "name": (d.members.get(key) or {}).get("name"),
            "party": (d.members.get(key) or {}).get("party"),
            "trades": len(own),
            "buys": sum(t["side"] == "buy" for t in own),
            "sells": sum(t["side"] == "sell" for t in own),
        }
        for key, own in by_member.items()
    ]
    members.sort(key=lambda m: (-m["trades"], m["name"] or "", m["member_key"]))
    return _page(members[offset : offset + limit], len(members), limit, offset)


def ticker_detail(d: GoldData, ticker: str) -> dict[str, Any] | None:
    ticker = ticker.strip().upper()
    row = next((r for r in d.tickers() if r["ticker"] == ticker), None)
    if row is None:
        return None
    members = ticker_members(d, ticker, limit=DETAIL_PAGE)
    first = query_trades(d, ticker=ticker, limit=DETAIL_PAGE)
    return {"ticker": row, "members": members["items"], "members_total": members["total"],
            "by_month": _by_month(d.rows_of("ticker", ticker)), "trades": first["items"], "trades_total": first["total"]}  # fmt: skip


def search(d: GoldData, q: str, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """The header's search: members by name or id, tickers by symbol or asset name, and assets
    (those without a ticker too) by name, each most traded first."""
    needle = q.strip().lower()
    members = list_members(d, q=q, limit=limit)["items"] if needle else []
    tickers = list_tickers(d, q=q, limit=limit)["items"] if needle else []
    assets: Counter[tuple[str, str | None]] = Counter()
    if needle:
        for name, ticker in zip(d.trades["asset_name"].to_pylist(), d.trades["ticker"].to_pylist(), strict=True):
            if name and needle in name.lower():
                assets[(name, ticker)] += 1
    return {
        "q": q,
        "members": members,
        "tickers": tickers,
        "assets": [{"asset_name": n, "ticker": t, "trades": c} for (n, t), c in
                   sorted(assets.items(), key=lambda kv: (-kv[1], kv[0][0]))[:limit]],
    }  # fmt: skip


def list_filings(
    d: GoldData, *, member: str | None = None, filing_type: str | None = None, year: int | None = None,
    status: str | None = None, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:  # fmt: skip
    rows = d.filings
    if member:
        wanted = d.resolve_members(member)
        rows = [f for f in rows if f["member_key"] in wanted]
    if filing_type:
        rows = [f for f in rows if (f["filing_type"] or "") == filing_type.upper()]
    if year is not None:
        rows = [f for f in rows if f["year"] == year]
    if status:
        rows = [f for f in rows if f["extraction_status"] == status]
    return _page(rows[offset : offset + limit], len(rows), limit, offset)


def filing_detail(d: GoldData, filing_id: str) -> dict[str, Any] | None:
    filing = d.filings_by_key.get(filing_id)
    if filing is None:  # a bare DocID: the latest year that has it
        matches = [f for f in d.filings if f["doc_id"] == filing_id]
        filing = max(matches, key=lambda f: f["year"]) if matches else None
    if filing is None:
        return None
    # Every row of the filing, the superseded and deleted ones too, each with its status.
    trades = sorted(
        (r for r in d.history_by_key.values() if r["filing_key"] == filing["filing_key"]),
        key=lambda r: r["transaction_key"],
    )
    facts = d.tables["fact_transactions"]
    rows = dict(zip(facts["transaction_key"].to_pylist(), facts["row"].to_pylist(), strict=True))
    trades.sort(key=lambda r: rows.get(r["transaction_key"], 0))
    return {"filing": filing, "trades": trades}


def trade_detail(d: GoldData, key: str) -> dict[str, Any] | None:
    """One trade, counted or not, with its chain of corrections and its copies in other filings."""
    rows = d.history_by_key
    trade = rows.get(key)
    if trade is None:
        return None
    chain = [first_of_chain(rows, trade)]
    while chain[-1]["superseded_by"] in rows and rows[chain[-1]["superseded_by"]] not in chain:
        chain.append(rows[chain[-1]["superseded_by"]])
    links = [
        r | {"role": "original" if i == 0 else "deletion" if r["trade_status"] == "deletion" else "amendment"}
        for i, r in enumerate(chain)
    ]
    return {
        "trade": trade,
        "chain": links,
        "original": chain[0],
        "amended_by": [link for link in links if link["role"] == "amendment"],
        "deleted_by": next((link for link in links if link["role"] == "deletion"), None),
        "duplicate_of": rows.get(trade["duplicate_of"]) if trade["duplicate_of"] else None,
        "copies": sorted((r for r in rows.values() if r["duplicate_of"] == key), key=lambda r: r["filing_key"]),
    }


def summary(d: GoldData) -> dict[str, Any]:
    rows = d.trade_rows
    dated = [t["transaction_date"] for t in rows if t["transaction_date"]]
    disclosed = [t["disclosure_date"] for t in rows if t["disclosure_date"]]
    top = list_members(d, traded=True, limit=10)["items"]
    coverage = d.tables["agg_document_quality"].to_pylist()
    return {
        "gold_version": d.version,
        "built_at": d.built_at,
        "years": d.years,
        "totals": {
            "trades": len(rows),
            "buys": sum(t["side"] == "buy" for t in rows),
            "sells": sum(t["side"] == "sell" for t in rows),
            # As the members list counts them: candidates and officers file PTRs but are not members.
            "members_trading": len(
                {t["member_key"] for t in rows if (t["filer_kind"] or "unresolved") in MEMBER_KINDS}
            ),
            "tickers": len({t["ticker"] for t in rows if t["ticker"]}),
            "filings": len(d.filings),
            "ptr_filings": sum(f["filing_type"] == "P" for f in d.filings),
            "late_trades": sum(bool(t["is_late"]) for t in rows),
            **amount_sums(rows),
            "first_transaction_date": min(dated, default=None),
            "last_transaction_date": max(dated, default=None),
            "last_disclosure_date": max(disclosed, default=None),
        },
        "by_month": _by_month(rows),
        "top_members": top,
        "coverage": coverage,
        "coverage_totals": coverage_of(d.filings),
    }


def last_disclosure(d: GoldData) -> date | None:
    """The newest disclosure date of any trade: how current the data is, whatever its build time."""
    return pc.max(d.trades["disclosure_date"]).as_py() if d.trades.num_rows else None


def freshness(built_at: str | None, now: datetime | None = None) -> float | None:
    if not built_at:
        return None
    try:
        built = datetime.fromisoformat(built_at)
    except ValueError:
        return None
    built = built if built.tzinfo else built.replace(tzinfo=UTC)
    return round(((now or datetime.now(UTC)) - built).total_seconds() / 3600, 2)


def precomputed_answers(d: GoldData) -> dict[str, dict[str, Any]]:
    """Every cacheable answer of this version, keyed by its name inside the version's prefix."""
    out: dict[str, dict[str, Any]] = {keys.summary_key(): summary(d), keys.latest_trades_key(): latest_trades(d)}
    for window in TRENDING_WINDOWS:
        out[keys.trending_key(window)] = trending(d, window)
    for key in d.members:
        detail = member_detail(d, key)
        if detail is not None:
            out[keys.member_key_of(key)] = detail
    for row in d.tickers():
        detail = ticker_detail(d, row["ticker"])
        if detail is not None:
            out[keys.ticker_key_of(row["ticker"])] = detail
    return out


# --- which version is live --------------------------------------------------------------------


@dataclass(frozen=True)
class _Live:
    """What one look at the site bucket found; replaced whole, so a reader never mixes two looks."""

    data: GoldData | None = None
    meta: SiteMeta | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # answers of `data` read or computed so far

    def answers_prefix(self) -> str | None:
        """Where `data`'s precomputed answers are: the prefix the meta names, when it names `data`."""
        if self.data is None or self.meta is None or self.meta.gold_version != self.data.version:
            return None
        return self.meta.answers_prefix


class ReadModelSettings(FunctionSettings):
    """What a reader of the live Gold reads from its function's environment (publish_api, the API)."""

    api_version_ttl_s: float = Field(10.0, ge=0, description="Seconds a reader trusts the live version it knows")
    gold_bucket: str = ""
    site_bucket: str = ""


class LiveStore:
    """The live Gold version in memory, plus the precomputed answers read so far."""

    def __init__(self, s3_factory: Any, ttl_s: float | None = None) -> None:
        self._s3_factory = s3_factory
        self.ttl_s = ReadModelSettings.from_env().api_version_ttl_s if ttl_s is None else ttl_s
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._live = _Live()

    @property
    def gold_bucket(self) -> str:
        return ReadModelSettings.from_env().gold_bucket

    @property
    def site_bucket(self) -> str:
        return ReadModelSettings.from_env().site_bucket

    def reset(self) -> None:
        with self._lock:
            self._checked_at = float("-inf")
            self._live = _Live()

    def meta(self) -> SiteMeta | None:
        return self._refresh().meta

    def data(self) -> GoldData:
        return self._data_of(self._refresh())

    def answer(self, key: str, compute: Any) -> Any:
        """A cacheable answer: memory, else the precomputed object, else computed from Gold."""
        live = self._refresh()
        d = self._data_of(live)
        cached = live.answers.get(key)
        if cached is not None:
            return cached
        found = None
        prefix = live.answers_prefix()
        if prefix and self.site_bucket:
            found = objects.get_json(self._s3_factory(), self.site_bucket, prefix + key)
        if found is None:  # not precomputed (or collected since): the same function on the same data
            found = compute(d)
        if found is not None:
            live.answers[key] = found
        return found

    @staticmethod
    def _data_of(live: _Live) -> GoldData:
        if live.data is None:
            raise DataUnavailable("no Gold version has been published yet")
        return live.data

    def _refresh(self) -> _Live:
        now = time.monotonic()
        if now - self._checked_at < self.ttl_s:
            return self._live
        with self._lock:
            if now - self._checked_at < self.ttl_s:
                return self._live
            s3 = self._s3_factory()
            current = self._live.data
            meta = read_site_meta(s3, self.site_bucket) if self.site_bucket else None
            manifest = None
            if meta is not None:
                if current is not None and current.version == meta.gold_version:
                    self._live, self._checked_at = _Live(current, meta, self._live.answers), now
                    return self._live
                manifest = read_manifest(s3, meta.gold_bucket or self.gold_bucket, meta.gold_version)
            if manifest is None and self.gold_bucket:
                pointer = read_pointer(s3, self.gold_bucket)
                manifest = pointer.manifest if pointer else None
            if manifest is not None and (current is None or current.version != manifest.version):
                self._live = _Live(load_gold(s3, manifest, self.gold_bucket), meta)
                current = None
                # A year of Gold is ~150,000 tracked objects that live until the next version: a
                # full collection walking them all took ~47 ms, the API's p99. Frozen, collections
                # skip them. Once per version: thaw, collect what the previous one left in cycles
                # (frozen garbage is never collected), freeze again.
                gc.unfreeze()
                gc.collect()
                gc.freeze()
            else:
                self._live = _Live(current, meta, self._live.answers)
            self._checked_at = now
            return self._live
