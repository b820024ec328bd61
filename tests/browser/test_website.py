"""What a person sees on the website, in headless Chromium, against the local stack on the mirror."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from browser_helpers import open_page, wait_ready

PELOSI = "P000197"


def navigate(page, action) -> None:
    """Do something that changes the route (a click, a submit) and wait for the new page."""
    page.evaluate("document.getElementById('app').dataset.ready = 'false'")
    action()
    wait_ready(page)


def test_before_any_data_the_site_says_so(site, page):
    open_page(page, site, "")
    status = page.locator("#status")
    status.wait_for(state="visible")
    assert status.get_attribute("data-state") == "missing"
    assert "No data has been published yet" in status.inner_text()
    assert "5 U.S.C. 13107" in page.locator("#notice").inner_text()
    assert page.locator(".error-box[data-state=missing]").is_visible()


def test_dashboard_after_a_run(live_site, page):
    site = live_site
    summary = site.api("/v1/summary")
    open_page(page, site, "")
    assert page.locator("#status").get_attribute("data-state") == "ok"  # fresh data: no warning
    assert page.locator("#status").is_hidden()
    totals = page.locator("#totals")
    assert totals.locator("[data-total=trades]").inner_text() == f"{summary['totals']['trades']:,}"
    assert summary["totals"]["trades"] > 0
    assert page.locator("#notice").is_visible() and "commercial" in page.locator("#notice").inner_text()
    # latest trades, trending chart and monthly chart are drawn
    assert page.locator("table.trades tbody tr").count() == min(20, len(site.api("/v1/trades/latest")["items"]))
    assert page.locator("#trending svg rect").count() > 0
    assert page.locator("svg[data-chart=monthly] rect").count() > 0
    assert "Nancy Pelosi" in page.locator("table.members").inner_text()
    # the trending window switch redraws from the API
    page.locator("#windows button[data-w='90']").click()
    page.wait_for_function("document.querySelector('#windows .on').dataset.w === '90'")
    assert page.locator("#trending svg rect").count() > 0


def test_member_page_shows_pelosis_trades(live_site, page):
    site = live_site
    expected = site.api(f"/v1/members/{PELOSI}")
    open_page(page, site, "members?q=pelosi")
    navigate(page, lambda: page.get_by_role("link", name="Nancy Pelosi").first.click())
    assert page.locator("#member-name").inner_text() == "Nancy Pelosi"
    assert "Democrat" in page.locator(".subtitle").inner_text() and "CA11" in page.locator(".subtitle").inner_text()
    rows = page.locator("table.trades tbody tr")
    assert rows.count() == expected["member"]["stats"]["trades"] == 9
    text = page.locator("table.trades").inner_text()
    for ticker in ("NVDA", "AAPL", "GOOGL"):
        assert ticker in text
    assert page.locator("[data-total=trades]").inner_text() == "9"
    assert page.locator("svg[data-chart=monthly]").count() == 1
    pdf = page.locator("a", has_text="PDF").first.get_attribute("href")
    assert pdf == "https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/20026590.pdf"


def test_ticker_page_for_nvda(live_site, page):
    site = live_site
    expected = site.api("/v1/tickers/NVDA")
    open_page(page, site, "tickers?q=NVDA")
    navigate(page, lambda: page.locator("a[href='#/ticker/NVDA']").first.click())
    assert page.locator("#ticker-symbol").inner_text() == "NVDA"
    assert "NVIDIA" in page.locator(".subtitle").inner_text()
    assert page.locator("table.trades tbody tr").count() == expected["ticker"]["trades"] > 0
    members = page.locator("table.members").inner_text()
    assert "Nancy Pelosi" in members
    assert page.locator("[data-total=trades]").inner_text() == str(expected["ticker"]["trades"])


def test_filters_narrow_the_trades_table(live_site, page):
    site = live_site
    open_page(page, site, "trades")
    everything = int(page.locator("#count").get_attribute("data-total"))
    assert everything == site.api("/v1/trades")["total"]

    page.fill("input[name=ticker]", "NVDA")
    navigate(page, lambda: page.click("#apply"))
    nvda = int(page.locator("#count").get_attribute("data-total"))
    assert 0 < nvda < everything
    assert "ticker=NVDA" in page.url
    tickers = page.locator("table.trades tbody tr td:nth-child(5)").all_inner_texts()
    assert tickers and set(tickers) == {"NVDA"}

    page.fill("input[name=member]", PELOSI)
    page.select_option("select[name=type]", "sell")
    navigate(page, lambda: page.click("#apply"))
    narrowed = int(page.locator("#count").get_attribute("data-total"))
    assert narrowed == site.api("/v1/trades", ticker="NVDA", member=PELOSI, type="sell")["total"]
    assert 0 < narrowed < nvda
    assert set(page.locator("table.trades tbody tr td:nth-child(3)").all_inner_texts()) == {"Nancy Pelosi"}

    # the filters survive a reload (they live in the URL)
    page.reload()
    wait_ready(page)
    assert page.locator("input[name=ticker]").input_value() == "NVDA"
    assert int(page.locator("#count").get_attribute("data-total")) == narrowed


def test_csv_export(live_site, page):
    """Header on row one, read as is by pandas; a BOM; "self" spelled out; the notice on every row."""
    import pandas as pd

    site = live_site
    open_page(page, site, f"trades?member={PELOSI}")
    count = int(page.locator("#count").get_attribute("data-total"))
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM spreadsheets look for
    frame = pd.read_csv(download.path())
    assert frame.columns[0] == "transaction_date" and "ticker" in frame.columns
    assert len(frame) == count == 9
    assert set(frame["member_name"]) == {"Nancy Pelosi"}
    assert "NVDA" in set(frame["ticker"])
    assert frame["owner"].notna().all()  # the filer's own trades say "self", not a blank
    api_owners = {t["owner"] or "self" for t in site.api("/v1/trades", member=PELOSI, limit=100)["items"]}
    assert set(frame["owner"]) == api_owners
    assert frame["notice"].str.contains("13107").all()  # the use restriction travels with every row
    assert frame["amount_low"].notna().all() and frame["transaction_date"].notna().all()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 9 and rows[0]["member_name"] == "Nancy Pelosi"
    assert "Exported 9 rows" in page.locator("#export-status").inner_text()


def test_csv_export_does_not_stop_at_fifty_thousand_rows(live_site, page):
    """An export larger than any old cap pages on to the last row (served here by a stand-in API)."""
    site = live_site
    total = 50_700
    template = site.api("/v1/trades", member=PELOSI, limit=1)["items"][0]

    def trades(route):
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(route.request.url).query)
        offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["50"])[0])
        items = [{**template, "transaction_key": f"k{i}"} for i in range(offset, min(total, offset + limit))]
        nxt = offset + limit if offset + limit < total else None
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({"items": items, "total": total, "limit": limit, "offset": offset, "next_offset": nxt}))

    page.route("**/v1/trades?*", trades)
    open_page(page, site, "trades")
    with page.expect_download(timeout=120_000) as info:
        page.click("#export")
    lines = Path(info.value.path()).read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == total + 1
    assert f"Exported {total:,} rows" in page.locator("#export-status").inner_text()


def test_a_404_says_what_is_missing(live_site, page):
    site = live_site
    for route, text in (("member/Z999999", "no member with key 'Z999999'"), ("ticker/NOPE", "no trades of ticker 'NOPE'"),
                        ("filing/2025-1", "no filing '2025-1'"), ("member/%E0", "no member with key '%E0'")):
        open_page(page, site, route)
        box = page.locator(".error-box[data-state=not-found]")
        assert text in box.inner_text() and "no such endpoint" not in box.inner_text()


def test_bad_filters_and_gateway_errors_are_explained(live_site, page):
    site = live_site
    open_page(page, site, "trades?to=0")
    box = page.locator("#results .error-box[data-state=bad-request]")
    assert "Check the filters" in box.inner_text() and "'to'" in box.inner_text()
    page.route("**/v1/summary", lambda route: route.fulfill(status=502, content_type="text/html", body="<html>Bad Gateway</html>"))
    open_page(page, site, "")
    box = page.locator(".error-box[data-state=unavailable]")
    assert "HTTP 502 from the gateway" in box.inner_text() and "Try again" in box.inner_text()


def test_coverage_is_shown_beside_the_numbers(live_site, page):
    site = live_site
    totals = site.api("/v1/summary")["coverage_totals"]
    open_page(page, site, "")
    note = page.locator("main .coverage").first
    assert int(note.get_attribute("data-unreadable")) == totals["unreadable"]
    if totals["unreadable"]:
        assert f"{totals['unreadable']:,} filing" in note.inner_text() and "not yet readable" in note.inner_text()
        unreadable = [f for f in site.api("/v1/filings", type="P", limit=500)["items"] if f["extraction_status"] != "extracted"]
        member = unreadable[0]["member_key"]
        coverage = site.api(f"/v1/members/{member}")["coverage"]
        open_page(page, site, f"member/{member}")
        note = page.locator("main .coverage").first
        assert int(note.get_attribute("data-unreadable")) == coverage["unreadable"] > 0
        assert "not yet readable" in note.inner_text()
        open_page(page, site, f"filing/{unreadable[0]['filing_key']}")
        assert "This filing is not yet readable" in page.locator("main .coverage").inner_text()


def test_lists_come_in_pages(live_site, page):
    from playwright.sync_api import expect

    site = live_site
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/v1/" in request.url else None)
    open_page(page, site, "members?all=1")
    total = site.api("/v1/members")["total"]
    assert int(page.locator("#count").get_attribute("data-total")) == total
    assert page.locator("table.members tbody tr").count() == min(50, total)
    assert any("/v1/members?" in u and "limit=50" in u for u in asked)
    if total > 50:
        navigate(page, lambda: page.locator("nav.pager a[rel=next]").click())
        assert page.locator("table.members tbody tr").count() == min(50, total - 50)
    open_page(page, site, "tickers")
    assert page.locator("table.tickers tbody tr").count() == min(50, site.api("/v1/tickers")["total"])
    assert page.locator("nav.pager").count() == 1
    # a member with more trades than a page: the first page, then the next from /v1/trades
    top = site.api("/v1/members", traded="true", limit=1)["items"][0]
    open_page(page, site, f"member/{top['member_key']}")
    trades = top["stats"]["trades"]
    assert page.locator("#detail-trades table.trades tbody tr").count() == min(50, trades)
    if trades > 50:
        page.locator("#detail-trades .pager button", has_text="Next").click()
        expect(page.locator("#detail-trades tbody tr")).to_have_count(min(50, trades - 50))
        assert "51–" in page.locator("#detail-trades [data-shown]").inner_text()


def _first_page_of(page, path: str, field: str) -> None:
    """Answer `path` with only the first row of its `field` list (its total kept), as an API with a
    page of one would, so a small mirror exercises the pager of that list."""

    def trim(route):
        body = route.fetch().json()
        body[field] = body[field][:1]
        route.fulfill(json=body)

    page.route(f"**{path}", trim)


def test_a_tickers_members_and_a_members_filings_page_on(live_site, page):
    from playwright.sync_api import expect

    site = live_site
    nvda = site.api("/v1/tickers/NVDA")
    assert nvda["members_total"] >= 2
    _first_page_of(page, "/v1/tickers/NVDA", "members")
    open_page(page, site, "ticker/NVDA")
    box = page.locator("#detail-members")
    expect(box.locator("tbody tr")).to_have_count(1)
    box.locator(".pager button", has_text="Next").click()
    expect(box.locator("[data-shown]")).to_contain_text("2–2")
    assert box.locator("tbody tr").inner_text().startswith(nvda["members"][1]["name"])

    member, count = Counter(f["member_key"] for f in site.api("/v1/filings", limit=500)["items"]).most_common(1)[0]
    assert count >= 2
    filings = site.api("/v1/filings", member=member, limit=500)["items"]
    _first_page_of(page, f"/v1/members/{member}", "filings")
    open_page(page, site, f"member/{member}")
    box = page.locator("#detail-filings")
    expect(box.locator("tbody tr")).to_have_count(1)
    box.locator(".pager button", has_text="Next").click()
    expect(box.locator("[data-shown]")).to_contain_text("2–2")
    assert box.locator("tbody tr td").first.inner_text() == filings[1]["doc_id"]


def test_header_search_finds_members_tickers_and_assets(live_site, page):
    site = live_site
    open_page(page, site, "")
    page.fill("#global-q", "nvidia")
    navigate(page, lambda: page.press("#global-q", "Enter"))
    assert "search?q=nvidia" in page.url
    assert page.locator("#found-tickers a[href='#/ticker/NVDA']").count() == 1
    assert "NVIDIA" in page.locator("#found-assets").inner_text()
    page.fill("#global-q", "pelosi")
    navigate(page, lambda: page.press("#global-q", "Enter"))
    assert page.locator("#found-members a", has_text="Nancy Pelosi").count() == 1


def test_charts_in_dollars(live_site, page):
    site = live_site
    open_page(page, site, f"member/{PELOSI}")
    chart = page.locator("#monthly-member svg[data-chart=monthly]")
    assert chart.get_attribute("data-mode") == "trades"
    page.locator(".chart-mode[data-for=monthly-member] button[data-mode=dollars]").click()
    chart = page.locator("#monthly-member svg[data-chart=monthly]")
    assert chart.get_attribute("data-mode") == "dollars"
    assert any(t.startswith("$") for t in chart.locator("text").all_text_contents())
    expected = sum(m["amount_mid_sum"] for m in site.api(f"/v1/members/{PELOSI}")["by_month"])
    assert expected > 0


def test_freshness_beside_the_latest_disclosure(live_site, page):
    site = live_site
    health = site.api("/v1/health")
    open_page(page, site, "")
    assert page.locator("#latest-disclosure").inner_text() == health["last_disclosure_date"]
    assert "days ago" in page.locator("#totals").inner_text()


def test_operations_page_shows_errors_unclipped_and_ocr_apart(live_site, browser):
    site = live_site
    runs = site.api("/v1/ops/runs")
    run = {**runs["items"][0], "run_id": "run-with-errors", "counts": {"extract_extracted": 10, "extract_needs_ocr": 3},
           "errors": ["fetch 20033421: source_missing: the Clerk answered 404 for " + "a-long-reason " * 30]}
    context = browser.new_context(viewport={"width": 1920, "height": 1000})
    page = context.new_page()
    try:
        page.route("**/v1/ops/runs*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({**runs, "items": [run]})))
        open_page(page, site, "ops")
        row = page.locator("tr[data-run='run-with-errors']")
        assert row.locator("td.extracted").inner_text() == "10" and row.locator("td.needs-ocr").inner_text() == "3"
        errors = page.locator("tr[data-run-errors='run-with-errors'] .errors")
        panel = page.locator("table#runs").locator("xpath=ancestor::section[1]")
        box, frame = errors.bounding_box(), panel.bounding_box()
        assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1  # wraps inside, never clipped
        assert page.evaluate("(() => { const p = document.querySelector('#runs').closest('section'); return p.scrollWidth <= p.clientWidth; })()")
    finally:
        context.close()


PAGES = ["", "trades", f"member/{PELOSI}", "ticker/NVDA", "members", "tickers", "ops", "search?q=nvidia", "filing/2025-20026590"]


@pytest.mark.parametrize("width", [1400, 390])
def test_accessibility_with_axe(live_site, browser, width):
    """axe-core (pinned, tests/browser/axe) in the real browser: no serious or critical violation."""
    axe = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.is_file():
        pytest.skip(f"axe-core not installed at {axe} (make axe-deps)")
    source = axe.read_text()
    site = live_site
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    found = []
    try:
        for route in PAGES:
            open_page(page, site, route)
            page.evaluate(source)  # not a <script> tag: the page's CSP allows only its own scripts
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            found += [f"{route or 'dashboard'} @{width}px: {v['id']} ({v['impact']}): {v['help']} "
                      f"{[n['target'] for n in v['nodes']][:3]}"
                      for v in result["violations"] if v["impact"] in ("serious", "critical")]
        # the things axe cannot judge: a working skip link and the current page marked in the nav
        open_page(page, site, "tickers")
        assert page.locator("#nav a[aria-current=page]").get_attribute("data-route") == "tickers"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "app" and "tickers" in page.url
    finally:
        context.close()
    assert not found, "\n".join(found)


def test_on_a_phone_ticker_type_and_amount_stay_on_screen(live_site, browser):
    site = live_site
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for route in ("", "trades", f"member/{PELOSI}"):
            open_page(page, site, route)
            table = page.locator("table.trades").first
            for column in ("ticker", "type", "amount"):
                for cell in table.locator(f"tbody tr td.{column}").all()[:10]:
                    box = cell.bounding_box()
                    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, (route, column, box)
            if route == "trades":  # no chart there
                continue
            # chart text at least 10 px tall as drawn
            chart = page.locator("svg[data-chart=monthly]").first
            sizes = chart.evaluate("""svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height)""")
            assert sizes and min(sizes) >= 10, (route, min(sizes))
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()

def test_operations_page(live_site, page):
    site = live_site
    open_page(page, site, "ops")
    runs = page.locator("#runs")
    assert site.run_id and runs.locator(f"tr[data-run='{site.run_id}']").count() == 1
    assert "succeeded" in runs.locator(f"tr[data-run='{site.run_id}']").inner_text()
    assert page.locator("#dlq tbody tr").count() == len(site.runtime.provisioned.dead_letter_queues)
    assert page.locator("#dlq-total").inner_text() == str(site.api("/v1/ops/dlq")["total_depth"])
    projection = site.api("/v1/ops/runs")["monthly_projection"]
    assert page.locator("#cost-month").inner_text() == f"${projection['total_usd']:.2f}"
    assert runs.locator(f"tr[data-run='{site.run_id}'] td.cost").inner_text().startswith("$0.")


def test_stale_data_is_flagged(live_site, page):
    site = live_site
    """When the health check reports old data, every page says so."""
    health = site.api("/v1/health")
    stale = {**health, "status": "stale", "stale": True, "freshness_hours": 24 * 9, "built_at": "2025-01-01T00:00:00+00:00"}
    page.route("**/v1/health", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(stale)))
    open_page(page, site, "trades")
    status = page.locator("#status")
    status.wait_for(state="visible")
    assert status.get_attribute("data-state") == "stale"
    assert "9 days" in status.inner_text()


def test_trade_page_shows_the_chain_and_former_members_their_party(live_site, page):
    site = live_site
    trade = site.api("/v1/trades", member=PELOSI, limit=1)["items"][0]
    open_page(page, site, f"trade/{trade['transaction_key']}")
    rows = page.locator("table.chain tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-role") == "original"
    assert page.locator("#trade-state").get_attribute("data-counted") == "true"
    # Greene left the House: the local stack resolves her through the former members' file.
    greene = site.api("/v1/members", q="Greene")["items"]
    assert [(m["bioguide_id"], m["party"]) for m in greene] == [("G000596", "Republican")]
    open_page(page, site, "members?q=greene")
    assert "Republican" in page.locator("table.members").inner_text()


def test_a_member_page_links_a_feed_only_where_one_is_published(live_site, page):
    import urllib.request

    site = live_site
    members = site.api("/v1/members", limit=500)["items"]
    quiet = next(m for m in members if not (m["stats"] or {}).get("trades"))
    open_page(page, site, f"member/{quiet['member_key']}")
    assert page.locator("a[href*='feeds/members/']").count() == 0
    open_page(page, site, f"member/{PELOSI}")
    href = page.locator("a[href*='feeds/members/']").first.get_attribute("href")
    with urllib.request.urlopen(f"{site.url}/{href.lstrip('/')}", timeout=10) as feed:
        assert feed.status == 200 and b"<feed" in feed.read()
