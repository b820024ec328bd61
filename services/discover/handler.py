"""Lambda entry point of discover: q-runs -> index -> filing.discovered events."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope, RunRequested
from services.common import bus
from services.common.config import settings
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.discover.discover import SERVICE, default_years, run

logger, tracer, metrics = tools(SERVICE)


def _scheduled_run_id(record: SQSRecord) -> str:
    """Derived from the message, so a redelivered schedule tick starts the same run, not a second."""
    sent = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
    return sent.strftime("%Y%m%dT%H%M%SZ") + "-" + hashlib.sha256(record.message_id.encode()).hexdigest()[:8]


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if "event_type" not in body:
        # The nightly rule's tick: announce the run; its run.requested comes back on q-runs.
        request = RunRequested(years=default_years(), source_url=settings().clerk_base_url, trigger="schedule")
        bus.publish_one(Envelope.build(request, run_id=_scheduled_run_id(record), source=SERVICE, trace=current_trace()))
        return
    envelope = Envelope.model_validate(body)
    if not envelope.trace:
        # A run requested from outside (CLI) starts its trace here: every later stage carries it.
        envelope = envelope.model_copy(update={"trace": current_trace()})
    logger.append_keys(run_id=envelope.run_id)
    annotate(tracer, envelope.run_id, envelope.trace)
    for result in run(envelope, bus.publish):
        d = result.discovered
        logger.info("year discovered", extra={"year": d.year, "status": d.index_status, "dispatched": d.dispatched})
        metrics.add_metric(name="FilingsDispatched", unit=MetricUnit.Count, value=d.dispatched)


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
