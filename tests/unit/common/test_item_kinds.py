"""The item kinds exported to schemas/tables.json are exactly the kinds the code writes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events.models import DocumentStored, Envelope, FilingDiscovered, RunDiscovered, RunRequested
from services.common import tables
from services.common.states import DocumentState

LEGISLATORS = b"- id: {bioguide: D000001}\n  name: {first: Jane, last: Doe, official_full: Jane Doe}\n  terms: []\n"


class _Reference(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(LEGISLATORS)))
        self.end_headers()
        self.wfile.write(LEGISLATORS)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def reference_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reference)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/legislators-current.yaml"
    server.shutdown()


def _write_every_kind(reference_url: str) -> None:
    """Call every writer of both tables once (each the way its stage calls it)."""
    from services.build_gold import overrides, reference
    from services.common import aws, watermarks
    from services.ledger.ledger import Ledger

    watermarks.claim_filings([watermarks.Claim(2025, "20026590", "fp", "run-1")])
    watermarks.move(2025, "20026590", DocumentState.STORED, sha256="0" * 64)
    watermarks.record_index(2025, '"etag"', "0" * 64, "house-fd/index/2025.zip")
    watermarks.trip_breaker(60, "403")
    overrides.set_override(next(iter(overrides.CHECK_NAMES)), "a test", "tester")
    aws.client("s3").create_bucket(Bucket="bronze")
    reference.load(reference_url, "bronze")
    ledger = Ledger()
    for detail, source in [
        (RunRequested(years=[2025], source_url="x"), "cli"),
        (RunDiscovered(year=2025, index_status="changed", dispatched=1), "discover"),
        (FilingDiscovered(doc_id="20026590", year=2025, filing_type="P", filer_name="x", source_url="x"), "discover"),
        (DocumentStored(doc_id="20026590", year=2025, filing_type="P", bucket="b", key="k", sha256="0" * 64, size=1,
                        fetch_ms=1), "fetch"),
    ]:
        ledger.apply(Envelope.build(detail, run_id="run-1", source=source))


def test_every_stored_item_has_a_kind_and_every_kind_is_written(ledger_table, reference_url):
    tables.WatermarksTable.create_table(wait=True)
    _write_every_kind(reference_url)

    written = set()
    for table, model in tables.TABLES.items():
        for item in model.scan():
            model = tables.model_of(table, item.pk, item.sk)
            assert model is not None, f"{table} item {item.pk} / {item.sk} has no kind in tables.KINDS"
            written.add(model.KIND)
    assert written == set(tables.KINDS)


def test_a_key_of_another_shape_has_no_kind():
    assert tables.model_of("watermarks", "RUN#r", "YEAR#2025") is None  # a kind listed once, written by nothing
    assert tables.model_of("ledger", "RUN#r", "DOC#1").KIND.name == "document"
    assert tables.model_of("ledger", "RUN#r#x", "RUN") is None
