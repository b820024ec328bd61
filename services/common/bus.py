"""Publish domain events on the pipeline topic.

The `event_type` message attribute is what the queues' filter policies match on; `filing_type`,
when the detail has one, lets a queue take only some filings (q-ocr: scanned PTRs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from events.models import Envelope
from services.common.aws import client
from services.common.config import settings

_SNS_BATCH = 10
# Events published inside `batched()`: held, then sent ten to a PublishBatch request.
_outbox: ContextVar[list[Envelope] | None] = ContextVar("outbox", default=None)


def attributes(event: Envelope) -> dict[str, dict[str, str]]:
    out = {
        "event_type": {"DataType": "String", "StringValue": event.event_type},
        "run_id": {"DataType": "String", "StringValue": event.run_id},
    }
    filing_type = getattr(event.detail, "filing_type", None)
    if isinstance(filing_type, str):
        out["filing_type"] = {"DataType": "String", "StringValue": filing_type}
    return out


def _entry(event: Envelope) -> dict:
    return {"Id": event.event_id, "Message": event.model_dump_json(), "MessageAttributes": attributes(event)}


@contextmanager
def batched() -> Iterator[None]:
    """Hold what is published inside and send it at the end in batches of ten: an SQS batch of
    ten records costs one PublishBatch, not ten Publish requests. Nothing is sent when the block
    raises (the whole batch is retried, and the handlers are idempotent)."""
    held: list[Envelope] = []
    token = _outbox.set(held)
    try:
        yield
    finally:
        _outbox.reset(token)
    _send(held)


def publish(events: Iterable[Envelope]) -> int:
    """Publish in batches of ten; raise if SNS refused any entry so the caller retries."""
    held = _outbox.get()
    if held is not None:
        before = len(held)
        held.extend(events)
        return len(held) - before
    return _send(events)


def _send(events: Iterable[Envelope]) -> int:
    sns = client("sns")
    batch: list[Envelope] = []
    seen: set[str] = set()
    sent = 0
    for event in events:
        # An idempotent replay hands back the stored envelopes, ids and all: two duplicates in one
        # SQS batch would put one id twice in a PublishBatch, which SNS refuses whole.
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        batch.append(event)
        if len(batch) == _SNS_BATCH:
            sent += _flush(sns, batch)
            batch = []
    if batch:
        sent += _flush(sns, batch)
    return sent


def _flush(sns, batch: list[Envelope]) -> int:
    response = sns.publish_batch(
        TopicArn=settings().events_topic_arn, PublishBatchRequestEntries=[_entry(e) for e in batch]
    )
    failed = response.get("Failed", [])
    if failed:
        raise RuntimeError(f"SNS refused {len(failed)} events: {json.dumps(failed)[:500]}")
    return len(batch)


def publish_one(event: Envelope) -> None:
    publish([event])
