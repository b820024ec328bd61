"""The HTTP API (API Gateway HTTP API, payload v2): routes under /v1, OpenAPI at /openapi.json.

Powertools' resolver validates parameters against the handlers' annotations and responses
against their pydantic return types; the OpenAPI document is generated from the same code.
Cacheable answers come from `publish_api`'s precomputed objects (or are computed from the live
Gold version when absent); filtered queries run on the in-memory Gold tables.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from datetime import date
from enum import IntEnum
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from services.api import models
from services.common import keys
from services.common.aws import client
from services.common.notice import USE_RESTRICTION
from services.common.states import PublicStatus
from services.ledger.dead_letters import DeadLetterSettings
from services.read_model import data

logger = Logger(service="api", child=True)

API_TITLE = "US House financial disclosures API"
API_VERSION = "1.0.0"
API_DESCRIPTION = f"""Trades (periodic transaction reports) of members of the US House of Representatives,
extracted from the financial disclosures the Clerk of the House publishes, with members, tickers,
filings, trending tickers and data freshness.

**{USE_RESTRICTION}**

Errors are JSON objects `{{"error", "message", "parameter"}}`: a bad parameter is a 400 naming the
parameter, an unknown member, ticker or filing a 404. Amounts are US dollars: the bounds of the
range the filer ticked (an exact amount when one was reported). Dates are ISO dates.
"""

M = TypeVar("M")
CACHE_SHORT = "public, max-age=60"
CACHE_NONE = "no-store"

# A response that does not fit its model is our bug: a 500, never a silent 422.
app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
store = data.LiveStore(lambda: client("s3"))

ERRORS = {
    400: "A bad parameter (named in the error)",
    404: "Not found",
    503: "No data published yet, or a dependency is unreachable",
}


def shaped(model: type[M], value: Any) -> M:
    """A read-model answer (a dict) as the route's declared model: Powertools validates and
    serializes it against `model` on the way out (a misfit is a 500), so no copy is made here."""
    return cast(M, value)


def get(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`app.get` with the route's documented answers (Powertools `responses=`): 200, its return
    type; and the errors it can give, as `Error`: 400 when it takes parameters, 404 when its path
    names a resource, 503 always."""

    def register(route: Callable[..., Any]) -> Callable[..., Any]:
        codes = [400] * bool(inspect.signature(route).parameters) + [404] * ("<" in path) + [503]
        responses: dict[int, Any] = {200: {"description": "Successful Response"}}
        for code in codes:
            responses[code] = {"description": ERRORS[code], "content": {"application/json": {"model": models.Error}}}
        return app.get(path, responses=responses, **options)(route)

    return register

Sort = Literal[
    "transaction_date", "-transaction_date", "disclosure_date", "-disclosure_date",
    "amount", "-amount", "ticker", "-ticker", "member", "-member",
]  # fmt: skip
Owner = Literal["self", "SP", "JT", "DC"]


class Window(IntEnum):
    week = 7
    month = 30
    quarter = 90


Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1-500)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip")]
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"  # a date is YYYY-MM-DD only (pydantic alone reads `0` as 1970-01-01)
IsoDate = Annotated[str | None, Query(pattern=ISO_DATE, description="YYYY-MM-DD")]


class UnknownResource(Exception):
    """A member, ticker or filing that does not exist: a 404 with this message (a route's own)."""


def _error(status: int, code: str, message: str, parameter: str | None = None) -> Response:
    body = {"error": code, "message": message, "parameter": parameter}
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Cache-Control": CACHE_NONE},
    )


# --- errors -----------------------------------------------------------------------------------


@app.exception_handler(RequestValidationError)
def _bad_request(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body", "header")]
    parameter = loc[0] if loc else None
    message = first.get("msg", "invalid request")
    if first.get("type") == "string_pattern_mismatch" and parameter in ("from", "to"):
        message = "must be a date, YYYY-MM-DD"
    text = f"invalid parameter '{parameter}': {message}" if parameter else message
    return _error(400, "bad_request", text, parameter)


class ParameterError(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@app.exception_handler(ParameterError)
def _bad_parameter(exc: ParameterError) -> Response:
    return _error(400, "bad_request", f"invalid parameter '{exc.parameter}': {exc}", exc.parameter)


@app.exception_handler(UnknownResource)
def _unknown_resource(exc: UnknownResource) -> Response:
    return _error(404, "not_found", str(exc))


@app.exception_handler(data.DataUnavailable)
def _unavailable(exc: data.DataUnavailable) -> Response:
    return _error(503, "unavailable", f"{exc}; try again after the next pipeline run")


@app.exception_handler(Exception)
def _internal(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return _error(500, "internal_error", "internal error; it has been logged")


@cache
def _query_parameters() -> dict[str, frozenset[str]]:
    """OpenAPI path -> the query parameters its GET declares (from the generated document)."""
    return {
        path: frozenset(p["name"] for p in ops.get("get", {}).get("parameters", []) if p.get("in") == "query")
        for path, ops in openapi_document().get("paths", {}).items()
    }


def _reject_unknown_parameters(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    """A parameter the route does not declare is a 400, never silently ignored (`?bogus=1`, a typo)."""
    route = app.context.get("_route")
    known = _query_parameters().get(getattr(route, "openapi_path", ""), frozenset()) if route else frozenset()
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - known)
    if route is not None and unknown:
        accepted = ", ".join(sorted(known)) or "none"
        return _error(400, "bad_request", f"unknown parameter '{unknown[0]}'; this endpoint accepts: {accepted}", unknown[0])
    return next_middleware(app)


# `not_found` is Powertools' handler of NotFoundError: only for paths no route matches.
@app.not_found
def _no_route(exc: Exception) -> Response:
    return _error(404, "not_found", f"no such endpoint: {app.current_event.path}; see /openapi.json")


app.use([_reject_unknown_parameters])


# --- data ---------------------------------------------------------------------------------------


def _date(parameter: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParameterError(parameter, f"not a valid date: {value!r} (YYYY-MM-DD)") from None


def _check_dates(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise ParameterError("to", f"must not be before 'from' ({date_from.isoformat()})")


@get("/v1/trades", summary="Trades, filtered, sorted and paged", tags=["trades"], cache_control=CACHE_SHORT)
def get_trades(
    member: Annotated[str | None, Query(max_length=100, description="Member key, bioguide ID or part of a name")] = None,
    ticker: Annotated[str | None, Query(max_length=20, description="Ticker symbol, e.g. NVDA")] = None,
    owner: Annotated[Owner | None, Query(description="self (the filer), SP spouse, JT joint, DC dependent child")] = None,
    type: Annotated[  # noqa: A002 - the public parameter name
        Literal["buy", "sell", "exchange"] | None, Query(description="buy (P), sell (S, S partial) or exchange (E)")
    ] = None,
    year: Annotated[int | None, Query(ge=2008, le=2100, description="Filing year")] = None,
    asset_type: Annotated[str | None, Query(max_length=4, description="Asset-type code, e.g. ST, OP")] = None,
    asset: Annotated[str | None, Query(max_length=100, description="Part of the asset's name, any case")] = None,
    date_from: Annotated[
        str | None, Query(alias="from", pattern=ISO_DATE, description="Earliest date (inclusive), YYYY-MM-DD")
    ] = None,
    date_to: Annotated[str | None, Query(alias="to", pattern=ISO_DATE, description="Latest date (inclusive), YYYY-MM-DD")] = None,
    date_field: Annotated[
        Literal["transaction", "disclosure"], Query(description="Which date from/to apply to")
    ] = "transaction",
    min_amount: Annotated[float | None, Query(ge=0, le=1e12, description="Range reaches at least this many dollars")] = None,
    max_amount: Annotated[float | None, Query(ge=0, le=1e12, description="Range starts at or below this many dollars")] = None,
    source: Annotated[
        Literal["efiled", "ocr"] | None, Query(description="efiled (the PDF's text layer) or ocr (read from a paper scan)")
    ] = None,
    needs_review: Annotated[bool | None, Query(description="true: only rows flagged for a person to check; false: none")] = None,
    sort: Annotated[Sort, Query(description="Sort key; a leading - sorts descending")] = "-transaction_date",
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.TradePage:
    first, last = _date("from", date_from), _date("to", date_to)
    _check_dates(first, last)
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise ParameterError("max_amount", "must not be below min_amount")
    page = data.query_trades(
        store.data(), member=member, ticker=ticker, owner=owner, side=type, year=year, asset_type=asset_type,
        asset=asset, date_from=first, date_to=last, date_field=f"{date_field}_date",
        min_amount=min_amount, max_amount=max_amount, source=source, needs_review=needs_review, sort=sort,
        limit=limit, offset=offset,
    )  # fmt: skip
    return shaped(models.TradePage, page)


@get("/v1/trades/latest", summary="The latest disclosed trades", tags=["trades"], cache_control=CACHE_SHORT)
def get_latest_trades() -> models.LatestTrades:
    return store.answer(keys.latest_trades_key(), data.latest_trades)


@get("/v1/trades/<transaction_key>", summary="One trade and its chain: original, amended by, deleted by", tags=["trades"], cache_control=CACHE_SHORT)
def get_trade(
    transaction_key: Annotated[str, Path(max_length=40, pattern="^[0-9a-f]{1,40}$", description="Transaction key")],
) -> models.TradeDetail:
    found = data.trade_detail(store.data(), transaction_key)
    if found is None:
        raise UnknownResource(f"no trade '{transaction_key}'")
    return shaped(models.TradeDetail, found)


@get("/v1/members", summary="Members (filers), with their trading stats", tags=["members"], cache_control=CACHE_SHORT)
def get_members(
    q: Annotated[str | None, Query(max_length=100, description="Part of a name, a member key or bioguide ID")] = None,
    state: Annotated[str | None, Query(min_length=2, max_length=2, description="Two-letter state code")] = None,
    party: Annotated[str | None, Query(max_length=20, description="Democrat, Republican, Independent")] = None,
    traded: Annotated[bool, Query(description="Only members with at least one trade")] = False,
    sort: Annotated[Literal["-trades", "trades", "name", "-name"], Query(description="Sort key")] = "-trades",
    limit: Limit = 50,
    offset: Offset = 0,
    kind: Annotated[
        Literal["member", "unresolved", "candidate", "officer"] | None,
        Query(description="Only filers of this kind; by default members and unresolved members' filers, never candidates or officers"),
    ] = None,
) -> models.MemberPage:
    return shaped(models.MemberPage, data.list_members(
        store.data(), q=q, state=state, party=party, traded=traded, sort=sort, limit=limit, offset=offset, kind=kind
    ))


@get("/v1/members/<member_key>", summary="One member: stats, trades, filings", tags=["members"], cache_control=CACHE_SHORT)
def get_member(
    member_key: Annotated[str, Path(max_length=100, description="Member key (bioguide ID when resolved)")],
) -> models.MemberDetail:
    d = store.data()
    if member_key not in d.members:
        # A bioguide ID in any case; names are /v1/search's and `?member=`'s.
        found = d.by_bioguide(member_key)
        if len(found) != 1:
            raise UnknownResource(f"no member with key '{member_key}'")
        member_key = found.pop()
    return store.answer(keys.member_key_of(member_key), lambda g: data.member_detail(g, member_key))


@get("/v1/tickers", summary="Tickers traded, most traded first", tags=["tickers"], cache_control=CACHE_SHORT)
def get_tickers(
    q: Annotated[str | None, Query(max_length=100, description="Part of a ticker or asset name")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.TickerPage:
    return shaped(models.TickerPage, data.list_tickers(store.data(), q=q, limit=limit, offset=offset))


@get("/v1/tickers/<ticker>", summary="One ticker: who traded it, and the trades", tags=["tickers"], cache_control=CACHE_SHORT)
def get_ticker(ticker: Annotated[str, Path(max_length=20, description="Ticker symbol, e.g. NVDA")]) -> models.TickerDetail:
    symbol = _known_ticker(ticker)
    return store.answer(keys.ticker_key_of(symbol), lambda g: data.ticker_detail(g, symbol))


def _known_ticker(ticker: str) -> str:
    symbol = ticker.strip().upper()
    if not any(r["ticker"] == symbol for r in store.data().tickers()):
        raise UnknownResource(f"no trades of ticker '{ticker}'")
    return symbol


@get("/v1/tickers/<ticker>/members", summary="The members who traded a ticker, most trades first, paged", tags=["tickers"], cache_control=CACHE_SHORT)
def get_ticker_members(
    ticker: Annotated[str, Path(max_length=20, description="Ticker symbol, e.g. NVDA")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.TickerMemberPage:
    symbol = _known_ticker(ticker)
    return shaped(models.TickerMemberPage, data.ticker_members(store.data(), symbol, limit=limit, offset=offset))


@get("/v1/search", summary="Members, tickers and assets matching a text (the site's search box)", tags=["search"], cache_control=CACHE_SHORT)
def get_search(
    q: Annotated[str, Query(min_length=1, max_length=100, description="Part of a name, ticker or asset")],
) -> models.SearchResults:
    return shaped(models.SearchResults, data.search(store.data(), q))


@get("/v1/filings", summary="Filings in the index, with extraction status", tags=["filings"], cache_control=CACHE_SHORT)
def get_filings(
    member: Annotated[str | None, Query(max_length=100, description="Member key, bioguide ID or part of a name")] = None,
    type: Annotated[  # noqa: A002
        str | None, Query(max_length=2, pattern="^[A-Za-z0-9]{1,2}$", description="Filing type, e.g. P (PTR)")
    ] = None,
    year: Annotated[int | None, Query(ge=2008, le=2100, description="Filing year")] = None,
    status: Annotated[
        PublicStatus | None, Query(description="Extraction status")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.FilingPage:
    return shaped(models.FilingPage, data.list_filings(
        store.data(), member=member, filing_type=type, year=year, status=status, limit=limit, offset=offset
    ))


@get("/v1/filings/<filing_id>", summary="One filing, its trades and its PDF", tags=["filings"], cache_control=CACHE_SHORT)
def get_filing(
    filing_id: Annotated[str, Path(max_length=40, description="Filing key (YEAR-DOCID) or DocID")],
) -> models.FilingDetail:
    found = data.filing_detail(store.data(), filing_id)
    if found is None:
        raise UnknownResource(f"no filing '{filing_id}'")
    return shaped(models.FilingDetail, found)


@get("/v1/trending", summary="Tickers most bought by members lately", tags=["tickers"], cache_control=CACHE_SHORT)
def get_trending(
    window: Annotated[Window, Query(description="Window in days (7, 30 or 90), ending on the latest disclosure")] = Window.month,
    limit: Annotated[int, Query(ge=1, le=500, description="How many tickers")] = 20,
) -> models.Trending:
    days = int(window)
    answer = store.answer(keys.trending_key(days), lambda g: data.trending(g, days))
    return shaped(models.Trending, {**answer, "items": answer["items"][:limit]})


@get("/v1/summary", summary="Totals, activity by month, top members, extraction coverage", tags=["summary"], cache_control=CACHE_SHORT)
def get_summary() -> models.Summary:
    return store.answer(keys.summary_key(), data.summary)


@get("/v1/health", summary="Health and data freshness", tags=["operations"], cache_control=CACHE_NONE)
def get_health() -> models.Health:
    meta = store.meta()
    try:
        d = store.data()
    except data.DataUnavailable:
        return shaped(models.Health, {"status": "missing", "stale": True, "stale_after_hours": data.STALE_AFTER_HOURS})
    hours = data.freshness(d.built_at)
    stale = hours is None or hours > data.STALE_AFTER_HOURS
    last = data.last_disclosure(d)
    return shaped(models.Health, {
        "status": "stale" if stale else "ok",
        "gold_version": d.version,
        "built_at": d.built_at,
        "published_at": meta.published_at if meta is not None and meta.gold_version == d.version else None,
        "freshness_hours": hours,
        "last_disclosure_date": last,
        "disclosure_age_days": (date.today() - last).days if last else None,
        "stale": stale,
        "stale_after_hours": data.STALE_AFTER_HOURS,
        "row_counts": d.row_counts,
    })


# --- operations ---------------------------------------------------------------------------------
# Public (the website's operations page reads them), so what they return is fit for anyone: run
# summaries from the runs index (one bounded query, never a scan), DLQ names without their URLs.

_ARN = re.compile(r"arn:aws[\w-]*:\S*")
_URL_WITH_ACCOUNT = re.compile(r"\w+://\S*/\d{12}/\S*")  # an SQS queue URL names the account
_ACCOUNT_ID = re.compile(r"\b\d{12}\b")
_TRACEBACK = "Traceback (most recent call last)"
MAX_PUBLIC_TEXT = 500


def public_text(text: Any) -> str:
    """A ledger reason as the public may read it: the human reason on its first line, without a
    stack trace, ARNs, queue URLs or account ids."""
    text = str(text)
    if _TRACEBACK in text:
        text = text.split(_TRACEBACK, 1)[0].strip() or "internal error (in the function's logs)"
    line = (text.strip().splitlines() or [""])[0]
    line = _URL_WITH_ACCOUNT.sub("<queue>", _ARN.sub("<arn>", line))
    return _ACCOUNT_ID.sub("<account>", line)[:MAX_PUBLIC_TEXT]


def _run(item: dict[str, Any]) -> dict[str, Any]:
    from services.ledger.cost import run_cost

    duration = None
    if item.get("started_at") and item.get("finished_at"):
        from datetime import datetime

        try:
            duration = (datetime.fromisoformat(item["finished_at"]) - datetime.fromisoformat(item["started_at"])).total_seconds()
        except ValueError:
            duration = None
    return {
        "run_id": item.get("run_id") or "",
        "status": item.get("status"),
        "trigger": item.get("trigger"),
        "years": [int(y) for y in item.get("years") or []],
        "started_at": item.get("started_at"),
        "settled_at": item.get("settled_at"),
        "finished_at": item.get("finished_at"),
        "duration_s": duration,
        "docs_expected": item.get("docs_expected"),
        "docs_settled": item.get("docs_settled"),
        "counts": {k: int(v) for k, v in (item.get("counts") or {}).items()},
        "cost_usd": run_cost(item).total_usd,
        "durations_ms": {k: float(v) for k, v in (item.get("durations_ms") or {}).items()},
        "errors": [public_text(e) for e in item.get("errors") or []],
        "failure_reason": public_text(item["failure_reason"]) if item.get("failure_reason") else None,
        "gold_version": item.get("gold_version"),
    }


@get("/v1/ops/runs", summary="Recent pipeline runs from the run ledger", tags=["operations"], cache_control=CACHE_NONE)
def get_runs(limit: Annotated[int, Query(ge=1, le=200, description="How many runs, newest first")] = 20) -> models.Runs:
    from services.ledger.queries import list_runs

    try:
        runs = list_runs(limit)
    except Exception as exc:  # the ledger table is unreachable: an operator still gets JSON
        logger.warning("ledger unreadable", extra={"error": str(exc)})
        raise data.DataUnavailable("the run ledger cannot be read") from exc
    from services.ledger.cost import monthly_projection

    return shaped(models.Runs, {"items": [_run(r) for r in runs], "monthly_projection": monthly_projection(runs) if runs else None})


class ApiSettings(data.ReadModelSettings, DeadLetterSettings):
    api_response_cache: int = Field(4096, ge=0, description="Answers each instance keeps in memory (0: none)")
    api_response_cache_mb: int = Field(
        128, ge=0, description="Megabytes of answer bodies each instance keeps at most"
    )


def _dead_letter_queues() -> tuple[str, ...]:
    return ApiSettings.from_env().queue_urls


@get("/v1/ops/dlq", summary="Depth of every dead-letter queue", tags=["operations"], cache_control=CACHE_NONE)
def get_dlq() -> models.DeadLetterQueues:
    sqs = client("sqs")
    items: list[dict[str, Any]] = []
    for url in _dead_letter_queues():
        try:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            items.append({"name": url.rsplit("/", 1)[-1], "depth": int(attrs["ApproximateNumberOfMessages"])})
        except Exception as exc:  # one unreadable queue must not hide the others
            items.append({"name": url.rsplit("/", 1)[-1], "depth": None, "error": type(exc).__name__})
    return shaped(models.DeadLetterQueues, {"items": items, "total_depth": sum(i["depth"] or 0 for i in items)})


# --- the OpenAPI document -----------------------------------------------------------------------


@cache
def openapi_document() -> dict[str, Any]:
    """The generated document, without what Powertools adds for every route and this API never
    answers: a 422 (a bad parameter is a 400 here) and the 500 of a response that fails its model
    (a bug, not a contract)."""
    doc = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE, version=API_VERSION, description=API_DESCRIPTION,
            summary="Trades of members of the US House, from the Clerk's financial disclosures",
        )
    )  # fmt: skip
    components = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.pop(name, None)
    for methods in doc.get("paths", {}).values():
        for operation in methods.values():
            operation.get("responses", {}).pop("422", None)
            operation.get("responses", {}).pop("500", None)
    return doc


@app.get("/openapi.json", include_in_schema=False)
def get_openapi():  # noqa: ANN201 - a Response annotation would enter the OpenAPI model
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(openapi_document()),
        headers={"Cache-Control": "public, max-age=300"},
    )

