"""Logger, tracer and metrics for a service, set up the same way everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled


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
