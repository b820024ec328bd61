"""The public operations routes: runs from one bounded query of the runs index, nothing internal shown."""

from __future__ import annotations

import json

from events.models import Envelope, RunRequested
from infra.local.http_api import LambdaContext, http_event
from services.api.app import public_text
from services.common.tables import RunDocumentItem, RunItem
from services.ledger.ledger import Ledger


def call(path: str, query: dict | None = None) -> tuple[int, dict]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event(path, query), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_runs_are_the_newest_from_a_query_never_a_scan(ledger_table):
    ledger = Ledger()
    ids = [f"202511{day:02d}T070000Z-{day:08x}" for day in range(1, 8)]
    for run_id in ids:
        ledger.apply(Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=run_id, source="cli"))
    for doc in range(30):  # a run's documents share the table
        RunDocumentItem(f"RUN#{ids[0]}", f"DOC#{doc}", run_id=ids[0], doc_id=str(doc)).save()
    ledger_table.clear()

    status, runs = call("/v1/ops/runs", {"limit": "3"})

    assert status == 200
    assert [r["run_id"] for r in runs["items"]] == ids[::-1][:3]
    assert ledger_table == ["Query"]


def test_run_errors_are_human_reasons_only(ledger_table):
    run_id = "20251126T080000Z-abcdef01"
    trace = 'Traceback (most recent call last):\n  File "/var/task/x.py", line 1\nValueError: boom'
    RunItem(
        f"RUN#{run_id}", "RUN", run_id=run_id, entity="RUN", status="failed",
        failure_reason="messages in dead-letter queues: disclosures-prod-fetch-dlq=2",
        errors=[
            "fetch 20033421: source_missing: https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/20033421.pdf answered 404",
            "extract 20026590: crashed: " + trace,
            "discover 2025: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/r/x is not authorized",
            "publish: https://sqs.us-east-1.amazonaws.com/123456789012/disclosures-prod-publish timed out, account 123456789012",
        ],
    ).save()  # fmt: skip

    status, runs = call("/v1/ops/runs")

    assert status == 200
    [run] = runs["items"]
    assert run["failure_reason"] == "messages in dead-letter queues: disclosures-prod-fetch-dlq=2"
    assert run["errors"] == [
        "fetch 20033421: source_missing: https://disclosures-clerk.house.gov/public_disc/ptr-pdfs/2025/20033421.pdf answered 404",
        "extract 20026590: crashed:",
        "discover 2025: AccessDenied: User: <arn> is not authorized",
        "publish: <queue> timed out, account <account>",
    ]
    body = json.dumps(runs)
    assert "123456789012" not in body and "Traceback" not in body and "arn:aws" not in body


def test_public_text_keeps_one_line():
    assert public_text("a reason\nsecond line") == "a reason"
    assert public_text("Traceback (most recent call last):\n  File x\nKeyError: 'k'") == "internal error (in the function's logs)"
    assert len(public_text("x" * 5000)) == 500


def test_dead_letter_queues_are_named_without_their_urls(ledger_table, monkeypatch):
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("t-fetch-dlq", "t-extract-dlq")]
    monkeypatch.setenv("DEAD_LETTER_QUEUES", ",".join(urls))
    sqs.send_message(QueueUrl=urls[1], MessageBody="{}")

    status, dlq = call("/v1/ops/dlq")

    assert status == 200
    assert dlq == {"items": [{"name": "t-fetch-dlq", "depth": 0, "error": None},
                             {"name": "t-extract-dlq", "depth": 1, "error": None}], "total_depth": 1}
    assert "123456789012" not in json.dumps(dlq)
