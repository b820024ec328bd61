"""The whole choreography on the local emulator, against the real Clerk mirror."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.e2e.helpers import add_members, index_zip, keys, member_xml, object_versions, rewrite_index

pytestmark = pytest.mark.e2e

EXPECTED_FULL_RUN = {
    "index_rows": 34,
    "filings_distinct": 32,
    "filings_dispatched": 32,
    "fetch_stored": 29,
    "fetch_failed": 3,
    "failed_source_missing": 3,
    "extract_extracted": 20,
    "extract_needs_ocr": 9,
}


def _counts(run: dict) -> dict:
    return {k: run["counts"].get(k, 0) for k in EXPECTED_FULL_RUN}


def test_full_run_on_the_mirror(make_stack, mirror_dir):
    stack = make_stack(mirror_dir)
    run_id = stack.request_run([2025])
    run = stack.wait_for_run(run_id, timeout_s=240)

    assert run["status"] == "succeeded", run
    assert _counts(run) == EXPECTED_FULL_RUN
    assert run["docs_expected"] == 32 and run["docs_settled"] == 32
    pdfs = keys(stack, "BRONZE_BUCKET", "house-fd/pdf/")
    assert len(pdfs) == 29
    assert all("/sha256=" in k for k in pdfs)
    assert len(keys(stack, "BRONZE_BUCKET", "house-fd/index/")) == 1
    documents = [k for k in keys(stack, "SILVER_BUCKET", "house-fd/documents/") if k.endswith("document.json")]
    assert len(documents) == 29
    silver = stack.client("s3")
    records = [json.loads(silver.get_object(Bucket=stack.provisioned.environment["SILVER_BUCKET"], Key=k)["Body"].read())
               for k in documents]
    assert sum(bool(r["page_text"]) for r in records) == 20  # the e-filed ones; scans are marked for OCR

    detail = stack.run_item(run_id)
    missing = sorted(d["doc_id"] for d in detail["documents"] if d.get("reason") == "source_missing")
    assert missing == ["10072224", "20033421", "20033446"]
    assert all(d.get("terminal") for d in detail["documents"])
    assert len(detail["errors"]) == 3 and all("source_missing" in e for e in detail["errors"])

    # Provenance travels with the object: the run id is in the bronze object's metadata.
    s3 = stack.client("s3")
    head = s3.head_object(Bucket=stack.provisioned.environment["BRONZE_BUCKET"], Key=pdfs[0])
    assert head["Metadata"]["run-id"] == run_id

    # A second run on the same source: the index answers 304, nothing is fetched or extracted.
    versions = object_versions(stack, "SILVER_BUCKET")
    second = stack.wait_for_run(stack.request_run([2025]), timeout_s=60)
    assert second["status"] == "succeeded"
    assert second["counts"].get("index_unchanged") == 1
    assert second["docs_expected"] == 0
    assert not any(second["counts"].get(k) for k in ("fetch_stored", "extract_extracted", "extract_needs_ocr"))
    assert object_versions(stack, "SILVER_BUCKET") == versions


def test_rebuilt_index_with_same_filings_dispatches_nothing(make_stack, mirror_copy):
    """The Clerk rebuilds the zip daily: new bytes and ETag, same filings -> no work."""
    stack = make_stack(mirror_copy)
    first = stack.wait_for_run(stack.request_run([2025]), timeout_s=240)
    assert first["status"] == "succeeded"
    add_members(mirror_copy)  # same rows, rewritten archive: new bytes, new ETag
    run = stack.wait_for_run(stack.request_run([2025]), timeout_s=60)
    assert run["status"] == "succeeded"
    assert run["counts"]["index_changed"] == 1, run
    assert run["counts"]["filings_dispatched"] == 0 and run["counts"]["filings_unchanged"] == 32
    assert run["gold_version"] == first["gold_version"]  # same filings: the live Gold is kept


def test_a_filing_dropped_from_the_index_rebuilds_gold_without_new_documents(make_stack, mirror_copy):
    stack = make_stack(mirror_copy)
    first = stack.wait_for_run(stack.request_run([2025]), timeout_s=240)
    rewrite_index(mirror_copy, lambda xml: re.sub(r"<Member>(?:(?!</Member>).)*?<DocID>20026590</DocID>.*?</Member>", "", xml, flags=re.S))
    run = stack.wait_for_run(stack.request_run([2025]), timeout_s=60)
    assert run["status"] == "succeeded" and run["counts"]["filings_dispatched"] == 0
    assert run["gold_version"] != first["gold_version"]


def test_a_new_filing_is_the_only_work_of_the_next_run(make_stack, mirror_copy):
    stack = make_stack(mirror_copy)
    assert stack.wait_for_run(stack.request_run([2025]), timeout_s=240)["status"] == "succeeded"
    ptrs = mirror_copy / "public_disc" / "ptr-pdfs" / "2025"
    shutil.copy(ptrs / "20027933.pdf", ptrs / "20099999.pdf")
    add_members(mirror_copy, member_xml("20099999", "P"))

    run = stack.wait_for_run(stack.request_run([2025]), timeout_s=60)
    assert run["status"] == "succeeded"
    assert run["counts"]["filings_dispatched"] == 1
    assert run["counts"]["fetch_stored"] == 1 and run["counts"]["extract_extracted"] == 1
    assert [d["doc_id"] for d in stack.run_item(run["run_id"])["documents"]] == ["20099999"]


def test_duplicate_deliveries_change_nothing(make_stack, mirror_dir):
    """Every queue gets duplicates of requests already done: nothing is downloaded, extracted,
    built or published again, and no count moves."""
    from events.models import (
        DocumentExtractRequested,
        Envelope,
        FilingDiscovered,
        GoldPublished,
        GoldRequested,
        RunDocumentsSettled,
        RunRequested,
        new_run_id,
    )
    from services.common import bus
    from services.common import keys as s3keys

    stack = make_stack(mirror_dir)
    run_id = stack.request_run([2025])
    assert stack.wait_for_run(run_id, timeout_s=240)["status"] == "succeeded"
    reprocess_id = stack.request_run([2025], trigger="reprocess", doc_ids=["20026590"])
    assert stack.wait_for_run(reprocess_id, timeout_s=120)["status"] == "succeeded"
    gold_request = Envelope.build(GoldRequested(years=[2025], reason="test"), run_id=new_run_id(), source="cli")
    bus.publish_one(gold_request)
    assert stack.wait_for_run(gold_request.run_id, timeout_s=120)["status"] == "succeeded"
    runs = {r: stack.run_item(r) for r in (run_id, reprocess_id, gold_request.run_id)}
    buckets = ("BRONZE_BUCKET", "SILVER_BUCKET", "GOLD_BUCKET", "SITE_BUCKET")
    versions = {b: object_versions(stack, b) for b in buckets}
    gold_versions = keys(stack, "GOLD_BUCKET", s3keys.GOLD_VERSIONS_PREFIX)

    sqs = stack.client("sqs")
    queues = stack.provisioned.queues
    ptr_key = next(k for k in keys(stack, "BRONZE_BUCKET", "house-fd/pdf/") if "doc_id=20026590" in k)
    s3_event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": stack.provisioned.environment["BRONZE_BUCKET"]},
        "object": {"key": ptr_key.replace("=", "%3D"), "size": 1}}}]}
    pdf_path = "/public_disc/ptr-pdfs/2025/20026590.pdf"
    filing = FilingDiscovered(doc_id="20026590", year=2025, filing_type="P", filer_name="Hon. Nancy Pelosi",
                              source_url=f"{stack.source_url}{pdf_path}")
    envelope = Envelope.build(filing, run_id=run_id, source="discover")
    # A new message for the same work, as a redelivered discover or a re-announcing ledger sends.
    reextract = Envelope.build(DocumentExtractRequested(doc_id="20026590", year=2025, filing_type="P", key=ptr_key,
                                                        reason="reprocess"), run_id=reprocess_id, source="discover")
    first = runs[run_id]
    settled = Envelope.build(RunDocumentsSettled(years=[2025], documents=first["docs_expected"],
                                                 counts={k: int(v) for k, v in first["counts"].items()}),
                             run_id=run_id, source="ledger")
    published = Envelope.build(GoldPublished(version=runs[gold_request.run_id]["gold_version"], years=[2025],
                                             row_counts={}), run_id=gold_request.run_id, source="build_gold")
    # The run requests again: discover asks the index (304) and sends the re-extraction again.
    requests = [Envelope.build(RunRequested(years=[2025], source_url=stack.source_url, **options), run_id=rid,
                               source="cli")
                for rid, options in ((run_id, {}), (reprocess_id, {"trigger": "reprocess", "doc_ids": ["20026590"]}))]
    # A download would now fail and end in the fetch DLQ: none may happen.
    stack.mirror.faults[pdf_path] = 503
    for _ in range(2):
        sends = [("ExtractQueue", json.dumps(s3_event)), ("ExtractQueue", reextract), ("FetchQueue", envelope),
                 ("LedgerQueue", envelope), ("GoldQueue", settled), ("GoldQueue", gold_request),
                 ("PublishQueue", published), *(("RunsQueue", r) for r in requests),
                 *(("LedgerQueue", r) for r in requests)]
        for queue, body in sends:
            body = body if isinstance(body, str) else body.model_dump_json()
            sqs.send_message(QueueUrl=queues[queue], MessageBody=body)
    stack.wait_idle()

    assert {r: stack.run_item(r) for r in runs} == runs
    assert {b: object_versions(stack, b) for b in buckets} == versions
    assert keys(stack, "GOLD_BUCKET", s3keys.GOLD_VERSIONS_PREFIX) == gold_versions
    assert all(i.depth == 0 for i in stack.dlq_info()), stack.dlq_info()


def test_a_handler_killed_mid_batch_loses_nothing(make_stack, mirror_dir):
    """Messages a dead invocation held come back after their visibility timeout."""
    from events.models import parse_event_json
    from infra.local.pollers import sqs_event
    from services.fetch.handler import stage

    stack = make_stack(mirror_dir, pollers=False)
    run_id = stack.request_run([2025])
    # Discover by hand (no pollers yet), then take a fetch batch and "die" half-way through it.
    from infra.local.pollers import LocalContext
    from services.discover.handler import lambda_handler as discover_handler

    sqs = stack.client("sqs")
    runs = sqs.receive_message(QueueUrl=stack.provisioned.queues["RunsQueue"], MaxNumberOfMessages=1, WaitTimeSeconds=2,
                               AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    discover_handler(sqs_event(runs, "arn:aws:sqs:us-east-1:123456789012:runs"), LocalContext("discover"))
    sqs.delete_message(QueueUrl=stack.provisioned.queues["RunsQueue"], ReceiptHandle=runs[0]["ReceiptHandle"])
    batch = sqs.receive_message(QueueUrl=stack.provisioned.queues["FetchQueue"], MaxNumberOfMessages=10,
                                WaitTimeSeconds=2, AttributeNames=["All"])["Messages"]
    assert len(batch) == 10
    for message in batch[:5]:
        stage.handle(parse_event_json(message["Body"]))
    # ...killed here: no batch response, nothing deleted. Now the platform carries on.
    stack.start_pollers()
    run = stack.wait_for_run(run_id, timeout_s=240)
    assert run["status"] == "succeeded"
    assert _counts(run) == EXPECTED_FULL_RUN


def test_poison_message_lands_in_dlq_and_replay_brings_it_back(make_stack, mirror_dir):
    # The local clock at three times its usual speed: a failed fetch is delivered again when its
    # visibility runs out (the template's 720 s: 5 s, not 12), three times, then dead-lettered.
    stack = make_stack(mirror_dir, time_scale=180)
    stack.mirror.faults["/public_disc/ptr-pdfs/2025/20026590.pdf"] = 503  # the Clerk is failing for one file
    run_id = stack.request_run([2025])
    failed = stack.wait_for_run(run_id, timeout_s=240)
    assert failed["status"] == "failed"
    assert "fetch-dlq=1" in failed["failure_reason"]
    assert {i.name: i.depth for i in stack.dlq_info()}["disclosures-local-fetch-dlq"] == 1
    assert failed["docs_settled"] == 31

    stack.mirror.faults.clear()  # the fix
    assert stack.replay_dlqs()["disclosures-local-fetch-dlq"] == 1
    run = stack.wait_for_run(run_id, timeout_s=120, statuses=("succeeded",))
    assert _counts(run) == EXPECTED_FULL_RUN
    assert all(i.depth == 0 for i in stack.dlq_info())
    # Recovered: the failure is history in the run's errors, no longer its reason.
    assert run.get("failure_reason") is None
    assert any(e.startswith("recovered from: messages in dead-letter queues: ") for e in stack.run_item(run_id)["errors"])


def test_nightly_rule_starts_a_run_over_current_and_previous_year(make_stack, mirror_dir):
    from services.discover.discover import default_years

    stack = make_stack(mirror_dir)
    run_id = stack.fire_nightly()
    run = stack.wait_for_run(run_id, timeout_s=240)
    assert run["trigger"] == "schedule"
    assert run["years"] == default_years()
    assert run["status"] == "succeeded"
    # The mirror has no index for the current year: recorded as missing, not a failure.
    assert run["counts"].get("index_missing", 0) == len(default_years()) - (2025 in default_years())
    assert index_zip(mirror_dir).exists()
