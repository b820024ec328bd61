"""Response models of the HTTP API: the OpenAPI document's schemas come from these classes.

Dates are ISO dates (`YYYY-MM-DD`); amounts are US dollars (the bounds of the range the filer
ticked, or the exact amount when one was reported).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.notice import USE_RESTRICTION
from services.common.states import PublicStatus

Side = Literal["buy", "sell", "exchange"]
TradeStatus = Literal["active", "amended", "deleted", "deletion", "duplicate"]


# A sum of ranges is a range (services/build_gold/amounts.py).
LOW_SUM = Field(
    None, description="Dollars: the sum of the ranges' floors; null when no trade states an amount"
)
HIGH_SUM = Field(
    None,
    description="Dollars: the sum of the ranges' ceilings; null when no trade states an amount, or when one "
    'range is open-ended ("Over $50,000,000"): the sum has no ceiling then',
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Error(_Model):
    error: str = Field(description="Machine code: bad_request, not_found, unavailable, internal_error")
    message: str = Field(description="What went wrong, for a person")
    parameter: str | None = Field(None, description="The offending parameter, for bad_request")


class Trade(_Model):
    transaction_key: str
    filing_key: str
    doc_id: str
    year: int
    member_key: str
    member_name: str | None = None
    bioguide_id: str | None = None
    party: str | None = None
    state_district: str | None = None
    owner: str | None = Field(None, description="blank: the filer; SP spouse; JT joint; DC dependent child")
    asset_name: str | None = None
    ticker: str | None = None
    asset_type: str | None = None
    transaction_type: str | None = Field(None, description="As filed: P, S, S (partial), E")
    side: Side | None = None
    transaction_date: date | None = None
    notification_date: date | None = None
    disclosure_date: date | None = None
    disclosure_lag_days: int | None = None
    is_late: bool | None = Field(None, description="Disclosed more than 45 days after the transaction")
    amount_low: float | None = None
    amount_high: float | None = None
    cap_gains_over_200: bool | None = None
    filing_status: str | None = None
    description: str | None = None
    comments: str | None = None
    source_url: str | None = None
    page: int | None = Field(None, description="Page of the PDF the row is printed on")
    source: Literal["efiled", "ocr"] = Field("efiled", description="efiled: the PDF's text layer; ocr: read from a scan")
    confidence: float | None = Field(None, description="Share of the row's checks that passed (0-1)")
    needs_review: list[str] = Field(default_factory=list, description="Why a person should check the row on its page")
    transaction_id: str | None = Field(None, description="The Clerk's transaction ID, where the row prints one")
    trade_status: TradeStatus = Field(
        "active",
        description="active (counted); amended or deleted (replaced by a later correction); "
        "deletion (a Deleted row); duplicate (the same trade in another filing)",
    )
    counted: bool = Field(True, description="Counts in totals, trends and statistics (active only)")
    supersedes: str | None = Field(None, description="Transaction key of the row this correction replaces")
    superseded_by: str | None = Field(None, description="Transaction key of the correction that replaced this row")
    correction_match: str | None = Field(
        None, description="How a correction found its original: transaction_id, fields, ambiguous, not_found"
    )
    correction_score: float | None = None
    correction_candidates: list[str] = Field(
        default_factory=list,
        description="Transaction keys of the earlier rows an ambiguous correction matched equally",
    )
    duplicate_of: str | None = Field(None, description="Transaction key of the copy that counts")
    also_filed_in: list[str] = Field(default_factory=list, description="Other filings reporting this same trade")
    filer_kind: str | None = Field(None, description="member, candidate, officer or unresolved")


class ChainLink(Trade):
    role: Literal["original", "amendment", "deletion"]


class TradeDetail(_Model):
    trade: Trade
    chain: list[ChainLink] = Field(description="The trade's corrections in filing order: original, amended by, deleted by")
    original: Trade | None = Field(None, description="The first row of the chain")
    amended_by: list[Trade] = Field(default_factory=list, description="Amendments of the trade, in filing order")
    deleted_by: Trade | None = Field(None, description="The Deleted row that removed the trade")
    duplicate_of: Trade | None = Field(None, description="The copy that counts, when this row is a duplicate")
    copies: list[Trade] = Field(default_factory=list, description="Rows of other filings reporting this same trade")


class _Paged(_Model):
    total: int = Field(description="Rows matching the filters, all pages together")
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="Offset of the next page; null on the last page")


class TradePage(_Paged):
    items: list[Trade]


class MemberStats(_Model):
    trades: int = 0
    buys: int = 0
    sells: int = 0
    amount_low_sum: float | None = LOW_SUM
    amount_high_sum: float | None = HIGH_SUM
    tickers: int = 0
    ptr_filings: int = 0
    late_trades: int = 0
    late_filings: int = 0
    median_lag_days: float | None = None
    first_transaction_date: date | None = None
    last_transaction_date: date | None = None
    last_disclosure_date: date | None = None


class Member(_Model):
    member_key: str = Field(description="Bioguide ID when resolved, else filer-<hash>")
    name: str | None = None
    bioguide_id: str | None = None
    resolved: bool = False
    match_method: str | None = None
    match_score: float | None = None
    filer_name: str | None = None
    filer_kind: str | None = Field(None, description="member, candidate, officer or unresolved (a member's filing that matched no one)")
    party: str | None = Field(None, description="Null when unknown (never 'independent')")
    state: str | None = None
    district: int | None = None
    state_district: str | None = None
    stats: MemberStats | None = None


class MemberPage(_Paged):
    items: list[Member]


class TickerCount(_Model):
    ticker: str
    trades: int


class MonthCount(_Model):
    month: str = Field(description="YYYY-MM of the transaction date")
    trades: int
    buys: int
    sells: int
    amount_high_sum: float | None = HIGH_SUM
    amount_mid_sum: float = Field(0.0, description="Dollars: the sum of each trade's range midpoint")
    buy_mid_sum: float = 0.0
    sell_mid_sum: float = 0.0


class Coverage(_Model):
    """How many PTRs could be read: the trades shown are those of the `extracted` ones only."""

    ptr_filings: int = 0
    extracted: int = 0
    needs_ocr: int = Field(0, description="Scanned paper filings waiting for OCR")
    failed: int = 0
    missing: int = Field(0, description="In the Clerk's index, but the PDF could not be fetched")
    unreadable: int = Field(0, description="PTR filings whose trades are not counted (not yet readable)")


class MemberDetail(_Model):
    member: Member
    top_tickers: list[TickerCount]
    by_month: list[MonthCount]
    trades: list[Trade] = Field(description="The first page of the member's trades, newest first; /v1/trades?member= pages on")
    trades_total: int = 0
    filings: list[Filing] = Field(description="The first page of the member's filings, newest first; /v1/filings?member= pages on")
    filings_total: int = 0
    coverage: Coverage = Field(default_factory=Coverage)


class Ticker(_Model):
    ticker: str
    asset_name: str | None = None
    asset_type: str | None = None
    trades: int
    buys: int
    sells: int
    members: int
    amount_low_sum: float | None = LOW_SUM
    amount_high_sum: float | None = HIGH_SUM
    last_transaction_date: date | None = None
    last_disclosure_date: date | None = None


class TickerPage(_Paged):
    items: list[Ticker]


class TickerMember(_Model):
    member_key: str
    name: str | None = None
    party: str | None = None
    trades: int
    buys: int
    sells: int


class TickerMemberPage(_Paged):
    items: list[TickerMember]


class TickerDetail(_Model):
    ticker: Ticker
    members: list[TickerMember] = Field(description="The first page of the members who traded it, most trades first; /v1/tickers/{ticker}/members pages on")
    members_total: int = 0
    by_month: list[MonthCount]
    trades: list[Trade] = Field(description="The first page of the ticker's trades, newest first; /v1/trades?ticker= pages on")
    trades_total: int = 0


class AssetMatch(_Model):
    asset_name: str
    ticker: str | None = None
    trades: int


class SearchResults(_Model):
    q: str
    members: list[Member]
    tickers: list[Ticker]
    assets: list[AssetMatch]


class Filing(_Model):
    filing_key: str
    doc_id: str
    year: int
    member_key: str
    member_name: str | None = None
    filing_type: str | None = None
    filing_date: date | None = None
    extraction_status: PublicStatus
    failure_reason: str | None = None
    rendering: str | None = None
    pages: int | None = None
    transaction_count: int = 0
    source_url: str | None = Field(None, description="Where the pipeline fetched the PDF")
    pdf_url: str = Field(description="The filing's PDF on the Clerk's site")


class FilingPage(_Paged):
    items: list[Filing]


class FilingDetail(_Model):
    filing: Filing
    trades: list[Trade]


class TrendingTicker(_Model):
    rank: int
    ticker: str
    asset_name: str | None = None
    buyers: int
    sellers: int
    members: int
    trades: int
    buys: int
    sells: int
    amount_low_sum: float | None = LOW_SUM
    amount_high_sum: float | None = HIGH_SUM


class Trending(_Model):
    window_days: int
    anchor_date: date | None = Field(None, description="Latest disclosure date in the data: the window ends here")
    window_start: date | None = None
    items: list[TrendingTicker]


class CoverageRow(_Model):
    filing_type: str | None = None
    rendering: str | None = None
    filings: int
    extracted: int
    needs_ocr: int
    failed: int
    missing: int
    coverage: float
    transactions: int
    mean_confidence: float | None = None


class Totals(_Model):
    trades: int
    buys: int
    sells: int
    members_trading: int = Field(
        description="Members with trades, as /v1/members?traded=true counts them (candidates and officers are not members)"
    )
    tickers: int
    filings: int
    ptr_filings: int
    late_trades: int
    amount_low_sum: float | None = LOW_SUM
    amount_high_sum: float | None = HIGH_SUM
    first_transaction_date: date | None = None
    last_transaction_date: date | None = None
    last_disclosure_date: date | None = None


class Summary(_Model):
    gold_version: str
    built_at: str | None = None
    years: list[int]
    totals: Totals
    by_month: list[MonthCount]
    top_members: list[Member]
    coverage: list[CoverageRow]
    coverage_totals: Coverage = Field(default_factory=Coverage)
    notice: str = USE_RESTRICTION


class LatestTrades(_Model):
    items: list[Trade]


class Health(_Model):
    status: Literal["ok", "stale", "missing"]
    gold_version: str | None = None
    built_at: str | None = None
    published_at: str | None = None
    freshness_hours: float | None = Field(None, description="Hours since the live Gold version was built")
    last_disclosure_date: date | None = Field(None, description="The newest disclosure in the data")
    disclosure_age_days: int | None = Field(None, description="Days from the newest disclosure to today")
    stale: bool = Field(description="True when the data is older than stale_after_hours, or missing")
    stale_after_hours: float = 48.0
    row_counts: dict[str, int] = Field(default_factory=dict)
    notice: str = USE_RESTRICTION


class Run(_Model):
    run_id: str
    status: str | None = None
    trigger: str | None = None
    years: list[int] | None = None
    started_at: str | None = None
    settled_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    docs_expected: int | None = None
    docs_settled: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    durations_ms: dict[str, float] = Field(default_factory=dict, description="Summed stage time per stage")
    errors: list[str] = Field(default_factory=list)
    failure_reason: str | None = None
    gold_version: str | None = None
    cost_usd: float | None = Field(None, description="Estimated AWS cost of the run, at published rates")


class Runs(_Model):
    items: list[Run]
    monthly_projection: dict[str, Any] | None = Field(
        None, description="Estimated cost per month from these runs (nightly), fixed costs and free tiers included"
    )


class DeadLetterQueue(_Model):
    name: str  # the queue's name only: its URL would publish the account id
    depth: int | None = Field(None, description="Messages waiting; null when the queue could not be read")
    error: str | None = None


class DeadLetterQueues(_Model):
    items: list[DeadLetterQueue]
    total_depth: int


MemberDetail.model_rebuild()
