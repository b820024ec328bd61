"""Lambda entry point of discover: q-runs -> index -> filing.discovered events."""

from __future__ import annotations

import hashlib
from datetime import UTC

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from events.models import Envelope, RunRequested, RunRequestedEvent
from events.sources import ScheduleTick
from services.common import bus
from services.common.config import PipelineSettings, settings
from services.common.http import HttpSettings
from services.common.observability import current_trace
from services.common.stage import Stage
from services.discover.discover import SERVICE, default_years, run

Body = RunRequestedEvent | ScheduleTick


class DiscoverSettings(PipelineSettings, HttpSettings):
    """discover's environment: the shared settings and the source's back-off."""


SETTINGS = DiscoverSettings


def scheduled_run_id(record: SqsRecordModel) -> str:
    """Derived from the message, so a redelivered schedule tick starts the same run, not a second."""
    sent = record.attributes.SentTimestamp.astimezone(UTC)
    return sent.strftime("%Y%m%dT%H%M%SZ") + "-" + hashlib.sha256(record.messageId.encode()).hexdigest()[:8]


def discover(body: Body, record: SqsRecordModel | None = None) -> list[Envelope]:
    if isinstance(body, ScheduleTick):
        if record is None:
            raise ValueError("a schedule tick names its run by the SQS message it came in")
        # The nightly rule's tick: announce the run; its run.requested comes back on q-runs.
        request = RunRequested(years=default_years(), source_url=settings().clerk_base_url, trigger="schedule")
        return [Envelope.build(request, run_id=scheduled_run_id(record), source=SERVICE, trace=current_trace())]
    if not body.trace:
        # A run requested from outside (CLI) starts its trace here: every later stage carries it.
        body = body.model_copy(update={"trace": current_trace()})
    stage.logger.append_keys(run_id=body.run_id)
    # Each year's filings go out before its index watermark is written (a redelivery may then
    # skip the year): discover publishes as it goes, and returns nothing left to announce.
    for result in run(body, bus.publish):
        d = result.discovered
        stage.logger.info("year discovered", extra={"year": d.year, "status": d.index_status,
                                                     "dispatched": d.dispatched})
        stage.metrics.add_metric(name="FilingsDispatched", unit=MetricUnit.Count, value=d.dispatched)
    return []


stage: Stage[Body] = Stage(SERVICE, accepts=[RunRequestedEvent, ScheduleTick], work=discover)
lambda_handler = stage.lambda_handler
