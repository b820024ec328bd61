"""Lambda entry point of build_gold: run.documents_settled / gold.requested -> Gold version."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import Envelope, GoldPublished, GoldRejected
from services.build_gold import overrides, reference, retention
from services.build_gold.build import build, built_from_current_filings
from services.common import bus, idempotency
from services.common.aws import client
from services.common.config import settings
from services.common.documents import read_pointer
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools

SERVICE = "build_gold"
DEFAULT_LEGISLATORS_URL = "https://unitedstates.github.io/congress-legislators/legislators-current.yaml"
DEFAULT_HISTORY_URL = "https://unitedstates.github.io/congress-legislators/legislators-historical.yaml"
logger, tracer, metrics = tools(SERVICE)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: Any = None) -> None:
    envelope = Envelope.model_validate_json(record.body)
    annotate(tracer, envelope.run_id, envelope.trace)
    # One build per settled run or Gold request: a redelivered or re-announced settlement gets
    # the saved gold.published / gold.rejected again, and no new version is built.
    key = {"run_id": envelope.run_id, "event_type": envelope.event_type}
    done = idempotency.once(SERVICE, key, lambda: [build_for(envelope)], lambda_context)
    bus.publish(done.events)
    outcome = done.events[0].typed()
    if done.repeated:
        logger.info("gold already built for this run", extra={"run_id": envelope.run_id,
                                                              "event_type": done.events[0].event_type})
    elif isinstance(outcome, GoldPublished) and not outcome.unchanged:
        cfg = settings()
        prune_old_versions(client("s3"), cfg.gold_bucket, cfg.silver_bucket, cfg.site_bucket)


def build_for(envelope: Envelope) -> Envelope:
    """Build (or keep) Gold for one settlement or request; the event that announces the result."""
    years = list(envelope.detail.get("years") or [])
    cfg = settings()
    trace = current_trace(envelope.trace)
    live = read_pointer(client("s3"), cfg.gold_bucket)
    if (
        live is not None
        and envelope.event_type == "run.documents_settled"
        and envelope.detail.get("documents") == 0
        and built_from_current_filings(client("s3"), cfg.silver_bucket, live, years)
    ):
        # Nothing was extracted and no filing changed: the live version is still exact, keep it.
        unchanged = GoldPublished(version=live.version, years=live.manifest.years, row_counts=live.manifest.row_counts,
                                  unchanged=True)
        return Envelope.build(unchanged, run_id=envelope.run_id, source=SERVICE, trace=trace)
    legislators, _ = reference.load(os.environ.get("LEGISLATORS_URL", DEFAULT_LEGISLATORS_URL), cfg.bronze_bucket)
    # Former members: an empty URL (a local runtime without the file) resolves current members only.
    history_url = os.environ.get("LEGISLATORS_HISTORY_URL", DEFAULT_HISTORY_URL)
    history = reference.load(history_url, cfg.bronze_bucket, reference.HISTORY)[0] if history_url else None
    result = build(
        client("s3"), silver_bucket=cfg.silver_bucket, gold_bucket=cfg.gold_bucket, years=years,
        run_id=envelope.run_id, legislators=legislators, former_legislators=history, overrides=overrides.active(),
    )
    if result.published:
        event = GoldPublished(version=result.version, years=result.years, row_counts=result.row_counts)
    else:
        event = GoldRejected(version=result.version, years=result.years, failed_checks=result.failed_checks,
                             report=result.report.to_dict())
    metrics.add_metric(name="GoldPublished" if result.published else "GoldRejected", unit=MetricUnit.Count, value=1)
    logger.info("gold built", extra={"status": result.status, "version": result.version, "rows": result.row_counts,
                                     "failed_checks": result.failed_checks})
    return Envelope.build(event, run_id=envelope.run_id, source=SERVICE, trace=trace)


def prune_old_versions(s3, gold_bucket: str, silver_bucket: str, site_bucket: str = "") -> retention.Pruned | None:
    """Retention after a publish (docs/gold.md): a failure is logged and counted, never fails the
    build, whose event is already out. A redelivered build prunes again and finds nothing more."""
    try:
        pruned = retention.prune(s3, gold_bucket=gold_bucket, silver_bucket=silver_bucket,
                                 policy=retention.Policy.from_env(),
                                 served=retention.served_versions(s3, site_bucket))
    except Exception as exc:  # whatever went wrong, the published version stands
        logger.warning("gold retention failed", extra={"error": f"{type(exc).__name__}: {exc}"}, exc_info=True)
        metrics.add_metric(name="GoldRetentionFailed", unit=MetricUnit.Count, value=1)
        return None
    logger.info("gold retention", extra=pruned.summary())
    return pruned


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
