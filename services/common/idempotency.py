"""Do a stage's work once per request, however often the request is delivered.

SQS delivers at least once, and the ledger announces a settlement at least once: the same
request (a document to extract again, a scan to read, a run's Gold build) can arrive twice.
`once` runs the work under a Powertools idempotency record in the idempotency table and saves
the events the work announced; a duplicate gets those saved events back and announces them
again (the ledger counts each state change once), without extracting, reading or building
anything. (Fetch needs no record: the filing's watermark says what this run's fetch got.) The
key names the work, not the message: a re-announced settlement is a new message of the same
run, and is the same work.

A failure deletes the record (Powertools does), so a retry or a `dlq replay` does the work.
A duplicate that arrives while the first copy is still working waits for it, within its own
invocation's time, rather than failing: a failed receive counts towards the dead-letter queue.
Records expire with the dead-letter queues' retention: no duplicate can come later than that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from events.models import Envelope, Event
from services.common.aws import client

TABLE_ENV = "IDEMPOTENCY_TABLE"
EXPIRES_AFTER_S = 14 * 24 * 3600  # the dead-letter queues' MessageRetentionPeriod
POLL_S = 0.5
MARGIN_S = 10.0  # left of the invocation when a duplicate gives up waiting (and is retried later)
NO_CONTEXT_WAIT_S = 60.0


class Announced(BaseModel):
    """What one piece of work announced: saved with its idempotency record."""

    events: list[Event]


@dataclass(frozen=True)
class Once:
    events: list[Envelope]
    repeated: bool  # True when the work had been done before: `events` are the saved ones


@cache
def _store(stage: str, table: str, dynamodb: Any) -> DynamoDBPersistenceLayer:
    # One store per stage: a store keeps the key prefix of its last call, and pollers of
    # different stages share a process locally.
    return DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)


def once(stage: str, key: dict[str, Any], work: Callable[[], list[Envelope]], context: Any = None) -> Once:
    """Run `work` once for `key` (its stage's identity of the request); see the module docstring.

    `context` is the Lambda context: it bounds how long an interrupted first copy holds the key
    (until its invocation's deadline), and how long a duplicate waits for it.
    """
    done = False

    def run(request: dict[str, Any]) -> Announced:
        nonlocal done
        done = True
        return Announced(events=work())

    config = IdempotencyConfig(raise_on_no_idempotency_key=True, expires_after_seconds=EXPIRES_AFTER_S)
    if context is not None:
        config.register_lambda_context(context)
    store = _store(stage, os.environ[TABLE_ENV], client("dynamodb"))
    idempotent = idempotent_function(
        run, data_keyword_argument="request", persistence_store=store, config=config,
        output_serializer=PydanticSerializer(Announced), key_prefix=stage,
    )  # fmt: skip
    wait_s = context.get_remaining_time_in_millis() / 1000 - MARGIN_S if context is not None else NO_CONTEXT_WAIT_S
    deadline = time.monotonic() + wait_s
    while True:
        try:
            result = idempotent(request=key)
            return Once(result.events, repeated=not done)
        except IdempotencyAlreadyInProgressError:
            if time.monotonic() + POLL_S >= deadline:
                raise
            time.sleep(POLL_S)
