"""Conditional writes to the watermark and ledger tables: the one place that tells a condition
that did not hold (a duplicate delivery, a lost race: an answer) from a failure (raised)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

Update = tuple[Model, list[Any], Condition | None]  # the item, its update actions, its condition


def update_if(*updates: Update, connection: Connection | None = None) -> bool:
    """Apply the updates iff every condition holds; False when one did not.

    One update is one UpdateItem; several are one transaction (all or nothing, `connection`
    required), e.g. a document's new state with the run's counters.
    """
    return not failed_conditions(*updates, connection=connection)


# DynamoDB cancels a write that touches an item another transaction is writing (a run's item,
# which every ledger transaction of the run updates, with two ledger functions running). Neither
# botocore nor pynamodb retries that; it is worth a few short waits before the whole batch fails.
CONFLICT_ATTEMPTS = 6
CONFLICT_BACKOFF_S = 0.05


class _Conflict(Exception):
    def __init__(self, error: Exception) -> None:
        self.error = error


def failed_conditions(*updates: Update, connection: Connection | None = None) -> list[int]:
    """Apply the updates iff every condition holds, as `update_if`; else write nothing and return
    the positions of the updates whose condition did not hold (each one DynamoDB reported).
    A write that lost a race with another transaction is tried again, with jittered waits."""
    for attempt in range(CONFLICT_ATTEMPTS - 1):
        try:
            return _apply(updates, connection)
        except _Conflict:
            time.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2**attempt))
    try:
        return _apply(updates, connection)
    except _Conflict as conflict:
        raise conflict.error from None


def _apply(updates: tuple[Update, ...], connection: Connection | None) -> list[int]:
    try:
        if len(updates) == 1:
            item, actions, condition = updates[0]
            item.update(actions=actions, condition=condition)
        else:
            assert connection is not None, "a transaction needs the connection"
            with TransactWrite(connection=connection) as tx:
                for item, actions, condition in updates:
                    tx.update(item, actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return [0]
        if exc.cause_response_code == "TransactionConflictException":
            raise _Conflict(exc) from exc
        raise
    except TransactWriteError as exc:
        # One reason per update, in order: None for an update that was not why it was cancelled.
        reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
        failed = [n for n, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
        if failed:
            return failed
        if "TransactionConflict" in reasons:
            raise _Conflict(exc) from exc
        raise
    return []


TRANSACTION_LIMIT = 100  # actions in one TransactWriteItems


def apply_each(updates: list[Update], connection: Connection,
               summary: Callable[[list[int]], Update | None] | None = None) -> list[bool]:
    """Apply each update whose condition holds, in transactions of up to a hundred (one request
    each, where one UpdateItem apiece would be a hundred); True for each applied. The items
    must be distinct. A transaction cancelled by failed conditions is written again without
    them: each round drops at least one update, so it ends.

    `summary` gives, for the positions a transaction is about to apply, one more unconditional
    update written with them (a run's counters summed over its new documents), or None.
    """
    applied = [False] * len(updates)
    per = TRANSACTION_LIMIT - (1 if summary else 0)
    for start in range(0, len(updates), per):
        pending = list(range(start, min(start + per, len(updates))))
        while pending:
            extra = summary(pending) if summary else None
            batch = [updates[n] for n in pending] + ([extra] if extra else [])
            failed = {pending[i] for i in failed_conditions(*batch, connection=connection) if i < len(pending)}
            if not failed:
                for n in pending:
                    applied[n] = True
                break
            pending = [n for n in pending if n not in failed]
    return applied
