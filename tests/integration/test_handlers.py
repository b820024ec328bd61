"""Each handler on its own, fed the shared JSON event fixtures; assert what it published."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from events.models import (
    DocumentExtracted,
    DocumentFailed,
    Envelope,
    FilingDiscovered,
    RunDiscovered,
    RunRequested,
)
from services.common import keys, watermarks
from services.common.states import DocumentState
from tests.integration.conftest import envelope_event, lambda_event

pytestmark = pytest.mark.integration


def test_a_schedule_tick_announces_one_run_and_a_redelivered_tick_the_same_run(harness):
    from services.discover.discover import default_years

    event = lambda_event("captured/runs.schedule")
    assert harness.invoke("services.discover.handler.lambda_handler", event) == {"batchItemFailures": []}
    harness.invoke("services.discover.handler.lambda_handler", event)
    published = harness.published()
    assert [p["event_type"] for p in published] == ["run.requested", "run.requested"]
    assert published[0]["run_id"] == published[1]["run_id"]
    assert published[0]["detail"]["years"] == default_years()
    assert published[0]["detail"]["trigger"] == "schedule"


def test_extract_ignores_the_s3_test_event(harness):
    result = harness.invoke("services.extract.handler.lambda_handler", lambda_event("captured/extract.s3-test"))
    assert result == {"batchItemFailures": []}
    assert harness.published() == []


def test_extract_writes_silver_and_announces_the_rows_once_per_content(harness, mirror_dir):
    s3 = harness.runtime.client("s3")
    body = (mirror_dir / "public_disc/ptr-pdfs/2025/20026590.pdf").read_bytes()
    key = keys.pdf_key(2025, "P", "20026590", hashlib.sha256(body).hexdigest())
    s3.put_object(Bucket=harness.env["BRONZE_BUCKET"], Key=key, Body=body, Metadata={"run-id": "run-1"})
    harness.published()  # nothing yet: the notification goes to the extract queue, not the topic
    event = lambda_event("sqs_s3_object_created", BUCKET=harness.env["BRONZE_BUCKET"],
                         KEY=key.replace("=", "%3D"))

    for _ in range(2):
        assert harness.invoke("services.extract.handler.lambda_handler", event) == {"batchItemFailures": []}
    first, second = harness.published()
    assert first == {**first, "event_type": "document.extracted", "run_id": "run-1", "source": "extract"}
    detail = DocumentExtracted.model_validate(first["detail"])
    assert (detail.doc_id, detail.rendering, detail.transactions, detail.pages) == ("20026590", "efiled", 9, 2)
    assert second["detail"] == {**first["detail"], "extract_ms": 0}  # the duplicate re-announced the stored outcome
    versions = s3.list_object_versions(Bucket=harness.env["SILVER_BUCKET"], Prefix=keys.document_key(2025, "20026590"))
    assert len(versions["Versions"]) == 1
    # One object per document: the page text is in the record, no text object beside it.
    listed = s3.list_objects_v2(Bucket=harness.env["SILVER_BUCKET"], Prefix=keys.document_prefix(2025, "20026590"))
    assert [o["Key"] for o in listed["Contents"]] == [keys.document_key(2025, "20026590")]
    record = json.loads(s3.get_object(Bucket=harness.env["SILVER_BUCKET"], Key=keys.document_key(2025, "20026590"))["Body"].read())
    assert len(record["page_text"]) == 2 and "Filing ID #20026590" in record["page_text"][0]
    assert watermarks.filing(2025, "20026590").status == "extracted"


def _stored_pdf(harness, mirror_dir, doc_id: str = "20026590") -> tuple[str, dict]:
    """A PTR put in bronze by a run, and the S3 event of it as its queue delivers it."""
    body = (mirror_dir / f"public_disc/ptr-pdfs/2025/{doc_id}.pdf").read_bytes()
    sha256 = hashlib.sha256(body).hexdigest()
    key = keys.pdf_key(2025, "P", doc_id, sha256)
    harness.runtime.client("s3").put_object(Bucket=harness.env["BRONZE_BUCKET"], Key=key, Body=body,
                                            Metadata={"run-id": "run-1"})
    watermarks.move(2025, doc_id, DocumentState.STORED, sha256=sha256, bronze_key=key)  # as fetch left it
    return key, lambda_event("sqs_s3_object_created", BUCKET=harness.env["BRONZE_BUCKET"], KEY=key.replace("=", "%3D"))


def test_a_first_delivery_is_checked_by_the_move_and_a_redelivery_by_a_read(harness, mirror_dir, monkeypatch, capsys):
    from services.extract import extract

    _, event = _stored_pdf(harness, mirror_dir)
    read = watermarks.filing
    monkeypatch.setattr(watermarks, "filing", lambda *a: pytest.fail("a first delivery read the watermark"))
    capsys.readouterr()
    assert harness.invoke("services.extract.handler.lambda_handler", event) == {"batchItemFailures": []}
    assert _outcome_metrics(capsys.readouterr().out, "Extract_") == ["Extract_DocumentExtracted"]
    monkeypatch.setattr(watermarks, "filing", read)
    monkeypatch.setattr(extract, "analyze_document", lambda *a, **k: pytest.fail("a redelivery parsed again"))
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    assert harness.invoke("services.extract.handler.lambda_handler", event) == {"batchItemFailures": []}
    assert _outcome_metrics(capsys.readouterr().out, "Extract_") == []  # announced again, not counted again
    first, again = harness.published()
    assert again["detail"] == {**first["detail"], "extract_ms": 0}
    assert watermarks.filing(2025, "20026590").status == "extracted"


def test_an_extraction_of_older_bytes_leaves_the_newer_ones_silver(harness, mirror_dir):
    s3 = harness.runtime.client("s3")
    _, event = _stored_pdf(harness, mirror_dir)
    newer = {"doc_id": "20026590", "year": 2025, "extraction_status": "stored", "sha256": "b" * 64}
    s3.put_object(Bucket=harness.env["SILVER_BUCKET"], Key=keys.document_key(2025, "20026590"), Body=json.dumps(newer))
    watermarks.move(2025, "20026590", DocumentState.STORED, sha256="b" * 64, bronze_key="newer")  # fetch, meanwhile
    assert harness.invoke("services.extract.handler.lambda_handler", event) == {"batchItemFailures": []}
    kept = json.loads(s3.get_object(Bucket=harness.env["SILVER_BUCKET"], Key=keys.document_key(2025, "20026590"))["Body"].read())
    assert kept == newer
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.sha256) == ("stored", "b" * 64)


def test_a_pdf_stored_outside_any_run_is_extracted_and_announced_to_no_run(harness, mirror_dir):
    s3 = harness.runtime.client("s3")
    body = (mirror_dir / "public_disc/ptr-pdfs/2025/20026590.pdf").read_bytes()
    key = keys.pdf_key(2025, "P", "20026590", hashlib.sha256(body).hexdigest())
    s3.put_object(Bucket=harness.env["BRONZE_BUCKET"], Key=key, Body=body)  # by hand: no run-id metadata
    event = lambda_event("sqs_s3_object_created", BUCKET=harness.env["BRONZE_BUCKET"], KEY=key.replace("=", "%3D"))
    assert harness.invoke("services.extract.handler.lambda_handler", event) == {"batchItemFailures": []}
    assert harness.published() == []
    assert watermarks.filing(2025, "20026590").status == "extracted"


def test_fetch_records_a_missing_pdf_as_a_terminal_failure(harness):
    filing = FilingDiscovered(doc_id="20033421", year=2025, filing_type="P", filer_name="X",
                              source_url=f"{harness.runtime.source_url}/public_disc/ptr-pdfs/2025/20033421.pdf")
    event = envelope_event(Envelope.build(filing, run_id="run-2", source="discover"))
    assert harness.invoke("services.fetch.handler.lambda_handler", event) == {"batchItemFailures": []}
    [failed] = harness.published()
    detail = DocumentFailed.model_validate(failed["detail"])
    assert (failed["event_type"], detail.stage, detail.reason) == ("document.failed", "fetch", "source_missing")
    assert watermarks.filing(2025, "20033421").status == "fetch_failed"


def test_fetch_leaves_the_message_for_a_retry_when_the_source_is_down(harness):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    harness.runtime.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 500
    filing = FilingDiscovered(doc_id="20026590", year=2025, filing_type="P", filer_name="X",
                              source_url=f"{harness.runtime.source_url}/public_disc/ptr-pdfs/2025/20026590.pdf")
    event = envelope_event(Envelope.build(filing, run_id="run-3", source="discover"))
    with pytest.raises(BatchProcessingError, match="All records failed"):
        harness.invoke("services.fetch.handler.lambda_handler", event)
    assert harness.published() == []
    assert watermarks.filing(2025, "20026590") is None  # nothing recorded as done


def _fetch(harness, run_id: str, doc_id: str = "20026590") -> dict:
    """Invoke fetch on one new message for the filing in `run_id`; the event it published."""
    filing = FilingDiscovered(doc_id=doc_id, year=2025, filing_type="P", filer_name="X",
                              source_url=f"{harness.runtime.source_url}/public_disc/ptr-pdfs/2025/{doc_id}.pdf")
    event = envelope_event(Envelope.build(filing, run_id=run_id, source="discover"))
    assert harness.invoke("services.fetch.handler.lambda_handler", event) == {"batchItemFailures": []}
    [published] = harness.published()
    return published


def _bronze_versions(harness) -> list[str]:
    listed = harness.runtime.client("s3").list_object_versions(Bucket=harness.env["BRONZE_BUCKET"], Prefix="house-fd/pdf/")
    return [v["Key"] for v in listed.get("Versions", [])]


def _outcome_metrics(out: str, prefix: str) -> list[str]:
    """The outcome metrics (`{prefix}...`) in the EMF lines a handler printed."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [m["Name"] for line in lines for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
            if m["Name"].startswith(prefix)]


@pytest.mark.parametrize("doc_id, event_type", [("20026590", "document.stored"), ("20033421", "document.failed")])
def test_a_duplicate_fetch_announces_the_recorded_outcome_without_a_download(harness, doc_id, event_type, capsys):
    first = _fetch(harness, "run-5", doc_id)
    assert first["event_type"] == event_type
    assert _outcome_metrics(capsys.readouterr().out, "Fetch_") == [f"Fetch_Document{event_type[9:].title()}"]
    harness.runtime.mirror.faults[f"/public_disc/ptr-pdfs/2025/{doc_id}.pdf"] = 503  # a download would fail
    again = _fetch(harness, "run-5", doc_id)
    assert _outcome_metrics(capsys.readouterr().out, "Fetch_") == []  # counted when the work ran only
    assert again["event_id"] != first["event_id"]
    assert again["detail"] == {**first["detail"], **({"fetch_ms": 0} if "fetch_ms" in first["detail"] else {})}
    assert len(_bronze_versions(harness)) == (1 if event_type == "document.stored" else 0)
    assert watermarks.filing(2025, doc_id).fetch_run == "run-5"


def test_a_fetch_that_crashed_before_its_put_is_done_by_the_duplicate(harness, mirror_dir):
    body = (mirror_dir / "public_disc/ptr-pdfs/2025/20026590.pdf").read_bytes()
    sha256 = hashlib.sha256(body).hexdigest()
    key = keys.pdf_key(2025, "P", "20026590", sha256)
    # As the first copy left it: the watermark moved, the object never stored.
    watermarks.move(2025, "20026590", DocumentState.STORED, sha256=sha256, bronze_key=key, fetch_run="run-6")
    published = _fetch(harness, "run-6")
    assert published["event_type"] == "document.stored"
    assert (published["detail"]["key"], published["detail"]["size"]) == (key, len(body))
    assert _bronze_versions(harness) == [key]


def test_a_later_run_fetching_the_same_bytes_is_unchanged_and_its_duplicate_too(harness):
    stored = _fetch(harness, "run-7")
    watermarks.move(2025, "20026590", DocumentState.EXTRACTED, of_held_bytes=True, sha256=stored["detail"]["sha256"])
    unchanged = _fetch(harness, "run-8")
    assert (unchanged["event_type"], unchanged["detail"]["key"]) == ("document.unchanged", stored["detail"]["key"])
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.fetch_run) == ("extracted", "run-8")  # noted, the state left alone
    harness.runtime.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 503
    assert _fetch(harness, "run-8")["detail"] == unchanged["detail"]


def test_a_failure_recorded_by_an_earlier_run_is_not_announced_for_the_next(harness):
    stored = _fetch(harness, "run-9")
    watermarks.move(2025, "20026590", DocumentState.FETCH_FAILED, reason="http_500", fetch_run="run-10",
                    fetch_message="answered 500")  # the next run's fetch failed; the bytes came back for a third
    assert _fetch(harness, "run-11")["event_type"] == "document.unchanged"
    assert watermarks.filing(2025, "20026590").fetch_run == "run-10"
    # Not noted for run-11: its duplicate downloads again, and does not announce run-10's failure.
    again = _fetch(harness, "run-11")
    assert (again["event_type"], again["detail"]["key"]) == ("document.unchanged", stored["detail"]["key"])


@pytest.mark.parametrize("read, reason", [(DocumentState.EXTRACTED, None), (DocumentState.EXTRACT_FAILED, "truncated"),
                                          (DocumentState.STORED, None)])
def test_the_same_bytes_after_a_failed_fetch_get_their_state_back(harness, read, reason):
    stored = _fetch(harness, "run-12")
    if read is not DocumentState.STORED:
        watermarks.move(2025, "20026590", read, of_held_bytes=True, sha256=stored["detail"]["sha256"], reason=reason)
    pdf = "/public_disc/ptr-pdfs/2025/20026590.pdf"
    harness.runtime.mirror.faults[pdf] = 404
    assert _fetch(harness, "run-13")["detail"]["reason"] == "source_missing"
    assert _fetch(harness, "run-14")["detail"]["reason"] == "source_missing"  # a second failure keeps the read too
    failed = watermarks.filing(2025, "20026590")
    assert (failed.status, failed.reason, failed.read_status, failed.read_reason) == ("fetch_failed", "source_missing",
                                                                                      read, reason)
    del harness.runtime.mirror.faults[pdf]
    unchanged = _fetch(harness, "run-15")
    assert (unchanged["event_type"], unchanged["detail"]["key"]) == ("document.unchanged", stored["detail"]["key"])
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.reason, mark.fetch_run, mark.fetch_message) == (read, reason, "run-15", None)
    assert (mark.read_status, mark.read_reason) == (None, None)
    # Asked for again, ever? An extract failure stays on its schedule; the others are done with it.
    assert watermarks.retry_due(mark, datetime.now(UTC) + timedelta(days=400)) == (read is DocumentState.EXTRACT_FAILED)
    harness.runtime.mirror.faults[pdf] = 503  # its duplicate announces the same without a download
    assert _fetch(harness, "run-15")["detail"] == unchanged["detail"]


def test_newer_bytes_after_a_failed_fetch_end_the_kept_state(harness):
    stored = _fetch(harness, "run-17")
    watermarks.move(2025, "20026590", DocumentState.EXTRACTED, of_held_bytes=True, sha256=stored["detail"]["sha256"])
    harness.runtime.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 404
    _fetch(harness, "run-18")
    assert watermarks.filing(2025, "20026590").read_status == "extracted"
    watermarks.move(2025, "20026590", DocumentState.STORED, only_new_bytes=True, sha256="0" * 64, bronze_key="k",
                    fetch_run="run-19")  # the Clerk's new file, stored by a later run
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.read_status, mark.read_reason) == ("stored", None, None)


def test_a_failure_keeps_the_state_an_extraction_reached_during_the_download(harness, monkeypatch):
    from services.common import http

    stored = _fetch(harness, "run-20")  # stored; its extraction has not ended yet
    harness.runtime.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 404
    real_get = http.get

    def get_while_extract_ends(url: str, **kwargs):
        watermarks.move(2025, "20026590", DocumentState.EXTRACTED, of_held_bytes=True, sha256=stored["detail"]["sha256"])
        return real_get(url, **kwargs)

    monkeypatch.setattr(http, "get", get_while_extract_ends)
    _fetch(harness, "run-21")  # read `stored` before its download, failed after the extraction ended
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.read_status) == ("fetch_failed", "extracted")


def test_new_bytes_stored_after_a_failure_leave_its_reason_behind(harness):
    watermarks.move(2025, "20026590", DocumentState.FETCH_FAILED, reason="source_missing", sha256="0" * 64,
                    fetch_run="run-22")  # older bytes, then a failure
    assert _fetch(harness, "run-23")["event_type"] == "document.stored"
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.reason) == ("stored", None)


def test_a_failed_fetch_of_a_filing_never_stored_keeps_no_state(harness):
    harness.runtime.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 404
    _fetch(harness, "run-16")
    mark = watermarks.filing(2025, "20026590")
    assert (mark.status, mark.read_status) == ("fetch_failed", None)


def test_the_ledger_counts_once_and_settles_exactly_once(harness):
    from services.ledger.ledger import Ledger
    from services.ledger.queries import get_run

    run_id = "run-4"
    requested = Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=run_id, source="cli")
    discovered = Envelope.build(RunDiscovered(year=2025, index_status="changed", index_rows=2, distinct_filings=2,
                                              dispatched=2), run_id=run_id, source="discover")
    failures = [Envelope.build(DocumentFailed(doc_id=d, year=2025, stage="fetch", reason="source_missing", message="404"),
                               run_id=run_id, source="fetch") for d in ("1", "2")]
    ledger = Ledger()
    for event in (requested, discovered, discovered, failures[0], failures[0]):
        assert ledger.apply(event) == []

    # The last document's event, delivered twice at once to two ledger workers.
    announced: list[list[Envelope]] = []
    workers = [threading.Thread(target=lambda: announced.append(Ledger().apply(failures[1]))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    settled = [e for batch in announced for e in batch]
    # One settlement; a worker that lost the race may announce it again until it is recorded
    # as published (at least once, never lost; downstream stages are idempotent).
    assert {e.event_type for e in settled} == {"run.documents_settled"} and 1 <= len(settled) <= 2
    Ledger.announced(settled)
    assert Ledger().apply(failures[1]) == []
    run = get_run(run_id)
    assert run["status"] == "settled"
    assert (run["docs_expected"], run["docs_settled"]) == (2, 2)
    assert run["counts"]["failed_source_missing"] == 2 and run["counts"]["index_rows"] == 2
    assert len(run["errors"]) == 2


def test_a_settlement_whose_announcement_died_is_announced_on_redelivery(harness):
    from services.ledger.ledger import Ledger

    run_id = "run-5"
    ledger = Ledger()
    ledger.apply(Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=run_id, source="cli"))
    ledger.apply(Envelope.build(RunDiscovered(year=2025, index_status="changed", dispatched=1), run_id=run_id,
                                source="discover"))
    last = Envelope.build(DocumentFailed(doc_id="1", year=2025, stage="fetch", reason="source_missing", message="404"),
                          run_id=run_id, source="fetch")
    assert [e.event_type for e in ledger.apply(last)] == ["run.documents_settled"]
    # ...the worker dies before publishing; SQS delivers the event again:
    assert [e.event_type for e in Ledger().apply(last)] == ["run.documents_settled"]


def test_an_invalid_ledger_event_lands_in_the_ledger_dlq_with_its_reason_and_makes_no_run(harness):
    from services.ledger.queries import list_runs

    event = Envelope.build(RunRequested(years=[2025], source_url="x"), run_id="run-bad", source="cli")
    body = event.model_dump_json().replace('"years":[2025]', '"years":"all"')
    lambda_ = lambda_event("sqs_envelope", ENVELOPE=json.dumps(body)[1:-1], EVENT_TYPE="run.requested")
    assert harness.invoke("services.ledger.handler.lambda_handler", lambda_) == {"batchItemFailures": []}
    assert list_runs(10) == []
    sqs = harness.runtime.client("sqs")
    dlq = harness.runtime.provisioned.dead_letter_queues[harness.runtime.provisioned.queues["LedgerQueue"]]
    [letter] = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert letter["Body"] == body
    assert letter["MessageAttributes"]["reason"]["StringValue"].startswith("invalid event: run.requested.detail.years")
