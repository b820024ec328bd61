"""Lambda entry point of publish_api: q-publish (gold.published) -> site bucket + api.published."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import AfterValidator, Field

from events.models import ApiPublished, Envelope, GoldPublishedEvent
from services.common.aws import client
from services.common.config import PipelineSettings, settings
from services.common.stage import Stage
from services.publish_api.publish import SERVICE, publish


class PublishApiSettings(PipelineSettings):
    trade_alerts_topic_arn: Annotated[str | None, AfterValidator(lambda v: v or None)] = Field(
        None, description="The topic announcing each publish's new trades (none: no alerts)")


SETTINGS = PublishApiSettings


def publish_api(event: GoldPublishedEvent, record: Any = None) -> list[Envelope]:
    cfg = settings()
    topic = PublishApiSettings.from_env().trade_alerts_topic_arn
    # Idempotent by the live manifest: a version already published writes nothing and alerts no one.
    result = publish(
        client("s3"), gold_bucket=cfg.gold_bucket, site_bucket=cfg.site_bucket, run_id=event.run_id,
        sns=client("sns") if topic else None, alerts_topic_arn=topic,
    )  # fmt: skip
    stage.metrics.add_metric(name="ApiObjectsWritten", unit=MetricUnit.Count, value=result.written)
    stage.metrics.add_metric(name="TradeAlertsSent", unit=MetricUnit.Count, value=result.alerts_sent)
    stage.logger.info(
        "published",
        extra={"gold_version": result.gold_version, "objects": result.objects, "written": result.written,
               "deleted": result.deleted, "already_published": result.already_published, "alerts_sent": result.alerts_sent, "run_id": event.run_id},
    )  # fmt: skip
    # Announced every time, also for a version already published: the run waiting on it settles.
    return [stage.reply(event, ApiPublished(gold_version=result.gold_version, objects=result.objects,
                                                written=result.written))]


stage: Stage[GoldPublishedEvent] = Stage(SERVICE, accepts=[GoldPublishedEvent], work=publish_api)
lambda_handler = stage.lambda_handler
