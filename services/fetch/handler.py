"""Lambda entry point of fetch: q-fetch (filing.discovered) -> bronze PDF + document events."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope, FilingDiscovered
from services.common import bus, idempotency
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.fetch.fetch import SERVICE, fetch_filing

logger, tracer, metrics = tools(SERVICE)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: Any = None) -> None:
    envelope = Envelope.model_validate_json(record.body)
    filing = envelope.typed()
    assert isinstance(filing, FilingDiscovered)
    trace = current_trace(envelope.trace)
    annotate(tracer, envelope.run_id, trace)

    def fetch() -> list[Envelope]:
        outcome = fetch_filing(filing, envelope.run_id, trace)  # the trace goes into the object's metadata too
        return [Envelope.build(outcome, run_id=envelope.run_id, source=SERVICE, trace=trace)]

    # A filing is fetched once per run: a redelivery announces the saved outcome again, no download.
    done = idempotency.once(SERVICE, {"run_id": envelope.run_id, "doc_id": filing.doc_id}, fetch, lambda_context)
    bus.publish(done.events)
    outcome = done.events[0].typed()
    logger.info("fetched", extra={"doc_id": filing.doc_id, "outcome": type(outcome).__name__, "run_id": envelope.run_id,
                                  "repeated": done.repeated})
    if done.repeated:
        return
    metrics.add_metric(name=f"Fetch_{type(outcome).__name__}", unit=MetricUnit.Count, value=1)
    if fetch_ms := getattr(outcome, "fetch_ms", 0):
        metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=fetch_ms)
    # Politeness: the Clerk publishes no rate limit, so space requests out.
    time.sleep(int(os.environ.get("FETCH_DELAY_MS", "0")) / 1000)


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics, batch_events=True)
