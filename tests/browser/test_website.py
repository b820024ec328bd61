"""What a person sees on the website, in headless Chromium, against the local stack on the mirror."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser_helpers import open_page, wait_ready  # noqa: E402

pytestmark = pytest.mark.e2e

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
    site = live_site
    open_page(page, site, f"trades?member={PELOSI}")
    count = int(page.locator("#count").get_attribute("data-total"))
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = open(download.path(), encoding="utf-8").read()
    lines = text.splitlines()
    assert "13107" in lines[0]  # the use restriction travels with the data
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert len(rows) == count == 9
    assert {r["member_name"] for r in rows} == {"Nancy Pelosi"}
    assert "NVDA" in {r["ticker"] for r in rows}
    assert all(r["amount_low"] and r["transaction_date"] for r in rows)
    assert "Exported 9 rows" in page.locator("#export-status").inner_text()


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
