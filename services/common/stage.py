"""The skeleton every event-driven stage runs on.

A stage declares what its queue delivers (event classes from `events/`, or other bodies such as
S3 notifications) and a function that does the work for one body and returns the events that
announce its outcome. The skeleton owns the rest, the same way in every stage:

- parsing: Powertools `BatchProcessor(model=...)` validates every record's body against the
  declared union; a body that fits none is a poison pill, reported as a batch item failure
  (retried, then the stage's DLQ), never handed to the work;
- trace propagation: the run id and the run's trace are annotated on the invocation's segment;
- idempotency (when the stage names a key): the work runs once per key, a duplicate gets the
  saved events back and does nothing else;
- publishing the returned events, and one outcome metric per event (`{metric_prefix}{Detail}`),
  counted when the work ran, not when a duplicate replayed it (a work that finds its outcome
  already recorded says so by returning `Once(events, repeated=True)`).
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json, create_model

from events.models import Envelope, _Detail
from services.common import bus, idempotency
from services.common.observability import annotate, current_trace, lambda_entry, tools

B = TypeVar("B")


def record_model(name: str, *bodies: type[BaseModel]) -> type[SqsRecordModel]:
    """An SQS record model whose body is JSON of one of `bodies` (events are told apart by their
    `event_type`, other bodies by their shape)."""
    union: Any = functools.reduce(operator.or_, bodies)
    return create_model(name, __base__=SqsRecordModel, body=(Json.__class_getitem__(union), ...))


class NotStarted(RuntimeError):
    """A record left for a later invocation: too little of this one is left for its work."""


class _Processor(BatchProcessor):
    stage_logger: Any = None

    def failure_handler(self, record: Any, exception: Any) -> Any:
        # Without a logger of its own Powertools logs a failed record at debug level only, and
        # never its message id: a poison pill or a failed piece of work must say which and why.
        exc = exception[1]
        message_id = getattr(record, "message_id", None) or getattr(record, "messageId", None)
        self.stage_logger.warning("record failed", exc_info=exception,
                                  extra={"message_id": message_id, "error": f"{type(exc).__name__}: {str(exc)[:500]}"})
        return super().failure_handler(record, exception)


def _outcome(done: list[Envelope] | idempotency.Once) -> tuple[list[Envelope], bool]:
    """A work's events, and whether they announce an outcome recorded before."""
    return (done.events, done.repeated) if isinstance(done, idempotency.Once) else (done, False)


class Stage(Generic[B]):
    """One stage: its tools, what it accepts, and the Lambda handler around its work.

    `work(body, record)` returns the events announcing the outcome (build them with `reply`), or
    `Once(events, repeated=True)` when they announce again an outcome recorded before;
    `record` is the parsed SQS record the body came in (its message id and attributes), None when
    the body is handed over directly;
    `once(body)`, when given, names the work for idempotency (None: no record for this body).
    `batch_events`: the events of a whole SQS batch go out together once every record was
    handled (one PublishBatch for ten records): only for work that relies on nothing being out.
    `after(body, events)`: what follows the announcement, when the work ran (not for a duplicate):
    its failure no longer loses the announcement.
    `record_budget_s`: the longest one record's work may take. A record is not started with less
    of the invocation left (the first of each invocation always is): it goes back to its queue as a
    batch item failure, where a timeout would have failed the records already done with it.
    """

    def __init__(self, service: str, *, accepts: Sequence[type[BaseModel]],
                 work: Callable[[B, SqsRecordModel | None], list[Envelope] | idempotency.Once],
                 once: Callable[[B], dict[str, Any] | None] | None = None, metric_prefix: str | None = None,
                 batch_events: bool = False, after: Callable[[B, list[Envelope]], None] | None = None,
                 record_budget_s: float | None = None) -> None:
        self.service = service
        self.logger, self.tracer, self.metrics = tools(service)
        self.model = record_model(f"{service.title().replace('_', '')}Record", *accepts)
        self.processor = _Processor(event_type=EventType.SQS, model=self.model)
        self.processor.stage_logger = self.logger
        self.work = work
        self.once = once
        self.metric_prefix = metric_prefix
        self.batch_events = batch_events
        self.after = after
        self.record_budget_s = record_budget_s
        self._started = 0  # records started in this invocation
        self._record = self.tracer.capture_method(self._handle_record)
        self.lambda_handler = lambda_entry(self.logger, self.tracer, self.metrics)(self._handle_batch)

    def reply(self, event: Envelope, detail: _Detail) -> Envelope:
        """The event announcing `detail` in the run of `event`, on its trace."""
        return Envelope.build(detail, run_id=event.run_id, source=self.service, trace=current_trace(event.trace))

    def handle(self, body: B, record: SqsRecordModel | None = None, context: Any = None) -> list[Envelope]:
        """Do the work for one parsed body and publish its outcome: what a record handler does."""
        if isinstance(body, Envelope):
            annotate(self.tracer, body.run_id, current_trace(body.trace))
        key = self.once(body) if self.once else None
        if key is None:
            events, repeated = _outcome(self.work(body, record))
        else:
            done = idempotency.once(self.service, key, lambda: _outcome(self.work(body, record))[0], context)
            events, repeated = done.events, done.repeated
        bus.publish(events)
        if repeated:
            self.logger.info("already done: announced again", extra={"key": key})
            return events
        if self.metric_prefix is not None:
            for event in events:
                self.metrics.add_metric(name=f"{self.metric_prefix}{type(event.detail).__name__}",
                                        unit=MetricUnit.Count, value=1)
        if self.after is not None:
            self.after(body, events)
        return events

    def _handle_record(self, record: Any, lambda_context: Any = None) -> None:
        if self.record_budget_s is not None and self._started and lambda_context is not None:
            left_s = lambda_context.get_remaining_time_in_millis() / 1000
            if left_s < self.record_budget_s:
                raise NotStarted(f"{left_s:.0f} s left of the invocation, a record may take {self.record_budget_s:.0f} s")
        self._started += 1
        self.handle(record.body, record, lambda_context)

    def _handle_batch(self, event: dict, context: Any) -> PartialItemFailureResponse:
        self._started = 0
        with bus.batched() if self.batch_events else contextlib.nullcontext():
            return process_partial_response(event=event, record_handler=self._record, processor=self.processor,
                                            context=context)
