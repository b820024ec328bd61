"""Atom feeds (RFC 4287) of the latest disclosed trades: all of them, per member and per ticker.

Static files written by `publish_api` beside the website (`feeds/latest.xml`,
`feeds/members/{member_key}.xml`, `feeds/tickers/{TICKER}.xml`), so CloudFront serves them like
any page and a feed reader polls them without touching the API. Each holds the newest
`FEED_ENTRIES` trades by disclosure date; an entry's id is its transaction key, so a reader shows
a trade once however often the feed is rewritten. Everything in a feed comes from the Gold
version (no clock), so an unchanged version writes byte-identical feeds (and publish skips them).
Links are site-relative (`/#/filing/...`): the feed is served from the site's own origin.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any
from urllib.parse import quote

from services.common import keys
from services.common.notice import USE_RESTRICTION
from services.read_model import data

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
FEED_ENTRIES = 50
ID_ROOT = "tag:house-trades,2025:"
SIDES = {"buy": "bought", "sell": "sold", "exchange": "exchanged"}

ET.register_namespace("", ATOM)


def _instant(d: date | None, fallback: str) -> str:
    return f"{d.isoformat()}T00:00:00Z" if d else fallback


def _money(value: float | None) -> str:
    return "?" if value is None else f"${value:,.0f}"


def _amount(t: dict[str, Any]) -> str:
    low, high = t["amount_low"], t["amount_high"]
    if high is None:
        return f"over {_money(low)}"
    return _money(low) if low == high else f"{_money(low)}–{_money(high)}"


def trade_title(t: dict[str, Any]) -> str:
    what = t["ticker"] or t["asset_name"] or "an asset"
    verb = SIDES.get(t["side"] or "", t["transaction_type"] or "traded")
    return f"{t['member_name'] or t['member_key']} {verb} {what} ({_amount(t)})"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def atom_feed(*, feed_id: str, title: str, self_href: str, page_href: str, trades: list[dict[str, Any]],
              built_at: str | None) -> bytes:  # fmt: skip
    fallback = built_at or "1970-01-01T00:00:00Z"
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", ID_ROOT + feed_id)
    _add(feed, "title", title)
    _add(feed, "subtitle", f"Periodic transaction reports filed with the Clerk of the U.S. House. {USE_RESTRICTION}")
    _add(feed, "updated", max((_instant(t["disclosure_date"], fallback) for t in trades), default=fallback))
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    _add(feed, "link", rel="alternate", type="text/html", href=page_href)
    author = _add(feed, "author")
    _add(author, "name", "House trades (from the Clerk of the House)")
    for t in trades:
        entry = _add(feed, "entry")
        _add(entry, "id", f"{ID_ROOT}trade/{t['transaction_key']}")
        _add(entry, "title", trade_title(t))
        _add(entry, "updated", _instant(t["disclosure_date"], fallback))
        if t["transaction_date"]:
            _add(entry, "published", _instant(t["transaction_date"], fallback))
        _add(entry, "link", rel="alternate", type="text/html", href=f"/#/filing/{quote(t['filing_key'], safe='')}")
        who = _add(entry, "author")
        _add(who, "name", t["member_name"] or t["member_key"])
        if t["ticker"]:
            _add(entry, "category", term=t["ticker"])
        owner = {"SP": "spouse", "JT": "joint", "DC": "dependent child"}.get(t["owner"] or "", "self")
        _add(entry, "summary", f"{trade_title(t)}: {t['asset_name'] or ''}, owner {owner}, traded "
                               f"{t['transaction_date'] or '?'}, disclosed {t['disclosure_date'] or '?'} (filing {t['doc_id']}).")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _newest(d: data.GoldData, **filters: Any) -> list[dict[str, Any]]:
    return data.query_trades(d, sort="-disclosure_date", limit=FEED_ENTRIES, **filters)["items"]


def all_feeds(d: data.GoldData) -> dict[str, bytes]:
    """Every feed of this Gold version: site-bucket key -> Atom document."""
    out = {keys.latest_feed_key(): atom_feed(feed_id="latest", title="Latest trades of members of the US House",
                                   self_href="/" + keys.latest_feed_key(), page_href="/#/", trades=_newest(d), built_at=d.built_at)}
    for key, member in d.members.items():
        if not (d.stats.get(key) or {}).get("trades"):
            continue
        out[keys.member_feed_key(key)] = atom_feed(
            feed_id=f"member/{key}", title=f"Trades of {member['name']}", self_href="/" + keys.member_feed_key(key),
            page_href=f"/#/member/{quote(key, safe='')}", trades=_newest(d, member=key), built_at=d.built_at,
        )  # fmt: skip
    for row in d.tickers():
        symbol = row["ticker"]
        out[keys.ticker_feed_key(symbol)] = atom_feed(
            feed_id=f"ticker/{symbol}", title=f"Trades of {symbol} by members of the US House",
            self_href="/" + keys.ticker_feed_key(symbol), page_href=f"/#/ticker/{quote(symbol, safe='')}",
            trades=_newest(d, ticker=symbol), built_at=d.built_at,
        )  # fmt: skip
    return out
