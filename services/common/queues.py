"""Reading an SQS queue without consuming it: every message once, then all visible again.

A receive with VisibilityTimeout=0 would leave the messages first in line, and the next receive
would hand out the same ones again; so each page stays hidden while the pass goes on, and all
are released at the end. Used for the dead-letter queues (the watchdog, `disclosures dlq list`)
and the local alerts inbox.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

BATCH = 10  # SQS's maximum per receive and per batch call
# How long a message read by a pass stays hidden at most: every one is released right after, and
# one that could not be comes back by itself when this runs out.
SCAN_VISIBILITY_S = 30

log = logging.getLogger(__name__)


# A short poll asks only some of SQS's servers and can answer empty while a small queue holds
# messages: each receive waits up to a second.
RECEIVE_WAIT_S = 1


def read_each_once(
    sqs: Any, url: str, limit: int, attribute_names: list[str] | None = None, wait_s: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` messages of a queue, each read once, and whether the queue was read to its end.
    Each page stays hidden (SCAN_VISIBILITY_S at most) while the pass goes on; all are made
    visible again at the end, also on error. `wait_s` defaults to RECEIVE_WAIT_S."""
    wait_s = RECEIVE_WAIT_S if wait_s is None else wait_s
    messages: dict[str, dict[str, Any]] = {}  # by id: a message received again keeps its newest handle
    drained = False
    try:
        while len(messages) < limit:
            page = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(BATCH, limit - len(messages)),
                AttributeNames=attribute_names or [], VisibilityTimeout=SCAN_VISIBILITY_S, WaitTimeSeconds=wait_s,
            ).get("Messages", [])
            if not page:
                drained = True
                break
            known = len(messages)
            messages.update({m["MessageId"]: m for m in page})
            if len(messages) == known:
                break  # only messages read before: the pass outlasted their visibility, it would never end
    finally:
        _release(sqs, url, [m["ReceiptHandle"] for m in messages.values()])
    return list(messages.values()), drained


def _release(sqs: Any, url: str, handles: list[str]) -> None:
    """Make received messages visible again, each batch on its own; those that could not be are
    logged, and stay hidden only until their SCAN_VISIBILITY_S runs out."""
    stuck: list[str] = []
    for start in range(0, len(handles), BATCH):
        batch = handles[start:start + BATCH]
        try:
            failed = sqs.change_message_visibility_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(batch)]
            ).get("Failed", [])
            stuck += [f"{f.get('Code')} {f.get('Message', '')}".strip() for f in failed]
        except (BotoCoreError, ClientError) as exc:
            stuck += [str(exc)] * len(batch)
    if stuck:
        log.warning("%d message(s) of %s could not be made visible again (%s); they will be by themselves "
                    "within %d s", len(stuck), url.rsplit("/", 1)[1], "; ".join(sorted(set(stuck))), SCAN_VISIBILITY_S)
