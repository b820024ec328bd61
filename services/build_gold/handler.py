"""Lambda entry point of build_gold: run.documents_settled / gold.requested -> Gold version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from events.models import (
    Envelope,
    GoldPublished,
    GoldRejected,
    GoldRequestedEvent,
    RunDocumentsSettled,
    RunDocumentsSettledEvent,
)
from services.build_gold import overrides, reference, retention
from services.build_gold.build import build_on_latest, built_from_current_filings
from services.common.aws import client
from services.common.config import FunctionSettings, PipelineSettings, settings
from services.common.documents import read_pointer
from services.common.http import HttpSettings
from services.common.stage import Stage

SERVICE = "build_gold"
DEFAULT_LEGISLATORS_URL = "https://unitedstates.github.io/congress-legislators/legislators-current.yaml"
DEFAULT_HISTORY_URL = "https://unitedstates.github.io/congress-legislators/legislators-historical.yaml"


Request = RunDocumentsSettledEvent | GoldRequestedEvent


class ReferenceSettings(FunctionSettings):
    legislators_url: str = Field(DEFAULT_LEGISLATORS_URL, description="Current members (congress-legislators)")
    # Former members: empty (a local runtime without the file) resolves current members only.
    legislators_history_url: str = DEFAULT_HISTORY_URL


class BuildGoldSettings(PipelineSettings, HttpSettings, ReferenceSettings, retention.RetentionSettings):
    """What build_gold reads. Each part is read on its own: a bad retention setting stops
    retention (an alarm), never a build."""


SETTINGS = BuildGoldSettings


def build_gold(event: Request, record: Any = None) -> list[Envelope]:
    return [build_for(event)]


def after_build(event: Request, announced: list[Envelope]) -> None:
    """Retention, once the new version is announced (a timeout here must not lose that)."""
    [outcome] = announced
    if isinstance(outcome.detail, GoldPublished) and not outcome.detail.unchanged:
        cfg = settings()
        prune_old_versions(client("s3"), cfg.gold_bucket, cfg.silver_bucket, cfg.site_bucket)


def build_for(event: Request) -> Envelope:
    """Build (or keep) Gold for one settlement or request; the event that announces the result."""
    years = list(event.detail.years)
    cfg = settings()
    live = read_pointer(client("s3"), cfg.gold_bucket)
    if (
        live is not None
        and isinstance(event.detail, RunDocumentsSettled)
        and event.detail.documents == 0
        and built_from_current_filings(client("s3"), cfg.silver_bucket, live, years)
    ):
        # Nothing was extracted and no filing changed: the live version is still exact, keep it.
        unchanged = GoldPublished(version=live.version, years=live.manifest.years, row_counts=live.manifest.row_counts,
                                  unchanged=True)
        return stage.reply(event, unchanged)
    own = ReferenceSettings.from_env()
    legislators, _ = reference.load(own.legislators_url, cfg.bronze_bucket)
    history_url = own.legislators_history_url
    history = reference.load(history_url, cfg.bronze_bucket, reference.HISTORY)[0] if history_url else None
    result = build_on_latest(
        client("s3"), silver_bucket=cfg.silver_bucket, gold_bucket=cfg.gold_bucket, years=years,
        run_id=event.run_id, legislators=legislators, former_legislators=history, overrides=overrides.active(),
    )
    detail: GoldPublished | GoldRejected
    if result.published:
        detail = GoldPublished(version=result.version, years=result.years, row_counts=result.row_counts)
    else:
        detail = GoldRejected(version=result.version, years=result.years, failed_checks=result.failed_checks,
                              report=result.report.to_dict())
    stage.metrics.add_metric(name="GoldPublished" if result.published else "GoldRejected", unit=MetricUnit.Count,
                             value=1)
    stage.logger.info("gold built", extra={"status": result.status, "version": result.version,
                                           "rows": result.row_counts, "failed_checks": result.failed_checks})
    return stage.reply(event, detail)


def prune_old_versions(s3, gold_bucket: str, silver_bucket: str, site_bucket: str = "") -> retention.Pruned | None:
    """Retention after a publish (docs/gold.md): a failure is logged and counted, never fails the
    build, which stands. What one build could not prune, the next one does."""
    try:
        pruned = retention.prune(s3, gold_bucket=gold_bucket, silver_bucket=silver_bucket,
                                 policy=retention.Policy.from_env(),
                                 served=retention.served_versions(s3, site_bucket))
    except Exception as exc:  # whatever went wrong, the published version stands
        stage.logger.warning("gold retention failed", extra={"error": f"{type(exc).__name__}: {exc}"}, exc_info=True)
        stage.metrics.add_metric(name="GoldRetentionFailed", unit=MetricUnit.Count, value=1)
        return None
    stage.logger.info("gold retention", extra=pruned.summary())
    return pruned


# One build per settled run or Gold request: a redelivered or re-announced settlement gets the
# saved gold.published / gold.rejected again, and no new version is built.
stage: Stage[Request] = Stage(SERVICE, accepts=[RunDocumentsSettledEvent, GoldRequestedEvent], work=build_gold,
                              once=lambda event: {"run_id": event.run_id, "event_type": event.event_type},
                              after=after_build)
lambda_handler = stage.lambda_handler
