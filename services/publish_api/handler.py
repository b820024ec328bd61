"""Lambda entry point of publish_api: q-publish (gold.published) -> site bucket + api.published."""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events.models import ApiPublished, Envelope, GoldPublished
from services.common import bus
from services.common.aws import client
from services.common.config import settings
from services.common.observability import annotate, current_trace, sqs_batch_handler, tools
from services.publish_api.publish import SERVICE, publish

logger, tracer, metrics = tools(SERVICE)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    envelope = Envelope.model_validate_json(record.body)
    annotate(tracer, envelope.run_id, envelope.trace)
    assert isinstance(envelope.typed(), GoldPublished), f"unexpected event {envelope.event_type}"
    cfg = settings()
    topic = os.environ.get("TRADE_ALERTS_TOPIC_ARN") or None
    result = publish(
        client("s3"), gold_bucket=cfg.gold_bucket, site_bucket=cfg.site_bucket, run_id=envelope.run_id,
        sns=client("sns") if topic else None, alerts_topic_arn=topic,
    )  # fmt: skip
    # Announced every time, also for a version already published: the run waiting on it settles.
    bus.publish_one(
        Envelope.build(
            ApiPublished(gold_version=result.gold_version, objects=result.objects),
            run_id=envelope.run_id, source=SERVICE, trace=current_trace(envelope.trace),
        )  # fmt: skip
    )
    metrics.add_metric(name="ApiObjectsWritten", unit=MetricUnit.Count, value=result.written)
    metrics.add_metric(name="TradeAlertsSent", unit=MetricUnit.Count, value=result.alerts_sent)
    logger.info(
        "published",
        extra={"gold_version": result.gold_version, "objects": result.objects, "written": result.written,
               "deleted": result.deleted, "already_published": result.already_published, "alerts_sent": result.alerts_sent, "run_id": envelope.run_id},
    )  # fmt: skip


lambda_handler = sqs_batch_handler(record_handler, logger, tracer, metrics)
