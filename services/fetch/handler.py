"""Lambda entry point of fetch: q-fetch (filing.discovered) -> bronze PDF + document events."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from events.models import FilingDiscoveredEvent
from services.common.config import PipelineSettings
from services.common.http import HttpSettings
from services.common.idempotency import Once
from services.common.observability import current_trace
from services.common.stage import Stage
from services.fetch.fetch import SERVICE, fetch_filing


class FetchSettings(PipelineSettings, HttpSettings):
    fetch_delay_ms: int = Field(0, ge=0, description="Pause after each download: the Clerk publishes no rate limit")


SETTINGS = FetchSettings


def fetch(event: FilingDiscoveredEvent, record: Any = None) -> Once:
    filing = event.detail
    fetched = fetch_filing(filing, event.run_id, current_trace(event.trace))  # the trace goes into the metadata
    reply = stage.reply(event, fetched.outcome)
    stage.logger.info("fetched", extra={"doc_id": filing.doc_id, "outcome": type(reply.detail).__name__,
                                        "run_id": event.run_id})
    if fetch_ms := getattr(reply.detail, "fetch_ms", 0):
        stage.metrics.add_metric(name="StageDuration", unit=MetricUnit.Milliseconds, value=fetch_ms)
    # Politeness: the Clerk publishes no rate limit, so space requests out (a duplicate made none).
    if not fetched.again:
        time.sleep(FetchSettings.from_env().fetch_delay_ms / 1000)
    return Once([reply], repeated=fetched.again)


# A filing is fetched once per run: a duplicate announces the outcome the watermark recorded
# again, without a download (see `fetch_filing`).
stage: Stage[FilingDiscoveredEvent] = Stage(
    SERVICE, accepts=[FilingDiscoveredEvent], work=fetch, metric_prefix="Fetch_", batch_events=True,
)
lambda_handler = stage.lambda_handler
