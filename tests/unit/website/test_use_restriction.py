"""The site states the use restriction word for word as the API does (5 U.S.C. 13107): its banner
and every row of its CSV export."""

from __future__ import annotations

import html
import re
from pathlib import Path

from services.common.notice import USE_RESTRICTION

STATIC = Path(__file__).resolve().parents[3] / "services" / "website" / "static"


def test_the_banner_says_the_whole_restriction():
    page = (STATIC / "index.html").read_text()
    banner = re.search(r'<div id="notice"[^>]*>(.*?)</div>', page, re.S)
    assert banner, "index.html has no #notice"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", banner.group(1))).split())
    assert text == USE_RESTRICTION


def test_the_csv_export_says_the_whole_restriction():
    script = (STATIC / "app.js").read_text()
    found = re.search(r'^const CSV_NOTICE = "([^"]*)";$', script, re.M)
    assert found, "app.js has no CSV_NOTICE"
    assert found.group(1) == USE_RESTRICTION
