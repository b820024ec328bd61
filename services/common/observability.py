"""Logger, tracer and metrics for a service, set up the same way everywhere."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# An invocation with nothing to count (a duplicate delivery, an idle watchdog tick) is normal
# here; Powertools would print a warning for each to stderr and the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class ServiceMetrics(EphemeralMetrics):
    """EphemeralMetrics that read their namespace when they are written."""

    @property  # type: ignore[override]  # None: Powertools reports that no namespace is set
    def namespace(self) -> str | None:
        # Read when the metrics are written, not when the module was imported: a module imported
        # before its function's environment was set (a test collection, a tool) still publishes.
        return self._namespace or os.getenv("POWERTOOLS_METRICS_NAMESPACE")

    @namespace.setter
    def namespace(self, value: str | None) -> None:
        self._namespace = value

    def drain(self) -> dict[str, dict[str, Any]]:
        """Take the metrics added so far ({name: {Unit, Value: [...]}}) and start afresh."""
        taken = {name: {"Unit": m["Unit"], "Value": list(m["Value"])} for name, m in self.metric_set.items()}
        self.metric_set.clear()
        return taken


def tools(service: str) -> tuple[Logger, Tracer, ServiceMetrics]:
    # EphemeralMetrics: the default Metrics class shares one metric set between all its instances,
    # and a process that hosts several services (a test, the CLI) would mix their metrics.
    return Logger(service=service), Tracer(service=service), ServiceMetrics(service=service)


def current_trace(incoming: str | None = None) -> str | None:
    """The trace header to carry on: the incoming event's, else this invocation's X-Ray header."""
    return incoming or os.environ.get("_X_AMZN_TRACE_ID") or None


def lambda_entry(logger: Logger, tracer: Tracer, metrics: ServiceMetrics) -> Callable:
    """Decorate a Lambda handler with context logging, tracing and EMF metrics flushing."""

    def decorate(handler: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
        wrapped = metrics.log_metrics(logger.inject_lambda_context(tracer.capture_lambda_handler(handler)))

        @functools.wraps(handler)
        def entry(event: dict, context: Any) -> Any:
            try:
                return wrapped(event, context)
            finally:
                # Disabled metrics are kept, not flushed, and would pile up across invocations.
                if is_metrics_disabled():
                    metrics.clear_metrics()

        return entry

    return decorate


def sqs_whole_batch_handler(batch_handler: Callable[[list[SQSRecord]], list[str]], logger: Logger, tracer: Tracer,
                            metrics: ServiceMetrics) -> Callable[[dict, Any], PartialItemFailureResponse]:
    """A Lambda handler for an SQS event source whose records are handled together (the ledger
    writes a batch's counts in one transaction): `batch_handler` gets every record and returns
    the message ids to deliver again, reported as partial batch failures."""

    @lambda_entry(logger, tracer, metrics)
    def lambda_handler(event: dict, context: Any) -> PartialItemFailureResponse:
        failed = batch_handler([SQSRecord(record) for record in event["Records"]])
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    return lambda_handler


def annotate(tracer: Tracer, run_id: str, trace: str | None) -> None:
    """X-Ray annotations are indexed: `annotation.run_id = "..."` finds every stage of one run,
    and `run_trace` names the trace that started it (the envelope's), though SQS hops start new ones."""
    tracer.put_annotation(key="run_id", value=run_id)
    if trace:
        tracer.put_annotation(key="run_trace", value=trace.split(";", 1)[0].removeprefix("Root="))
