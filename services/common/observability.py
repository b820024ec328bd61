"""Logger, tracer and metrics for a service, set up the same way everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def tools(service: str) -> tuple[Logger, Tracer, EphemeralMetrics]:
    # EphemeralMetrics: the local runtime hosts every service in one process, and the default
    # Metrics class shares one metric set between all its instances.
    return Logger(service=service), Tracer(service=service), EphemeralMetrics(service=service)


def lambda_entry(logger: Logger, tracer: Tracer, metrics: EphemeralMetrics) -> Callable:
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


def sqs_batch_handler(record_handler: Callable[[SQSRecord], Any], logger: Logger, tracer: Tracer,
                      metrics: EphemeralMetrics) -> Callable[[dict, Any], dict]:
    """A Lambda handler for an SQS event source that reports partial batch failures."""

    @lambda_entry(logger, tracer, metrics)
    def lambda_handler(event: dict, context: Any) -> dict:
        # One processor per invocation: the local runtime runs a function's pollers as threads,
        # and a processor holds the state of the batch it is working on.
        return process_partial_response(
            event=event, record_handler=record_handler, processor=BatchProcessor(event_type=EventType.SQS), context=context
        )

    return lambda_handler
