"""Dead-letter queues: inspect them and replay their messages to the queue they came from.

On AWS a replay is `StartMessageMoveTask` (SQS moves the messages itself); locally, where the
emulator lacks it, the same effect by a receive / send / delete loop. Handlers are idempotent,
so a replayed message that had in fact been processed changes nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from services.common import queues

# `dlq list` reads at most this many messages per queue to find the oldest one.
AGE_SCAN_LIMIT = 1000
# A local replay waits at most this long for messages a concurrent read (`dlq list`, the watchdog)
# hides: it releases them at the end of its pass, or they come back when their visibility runs out.
HIDDEN_WAIT_S = queues.SCAN_VISIBILITY_S + 5
HIDDEN_POLL_S = 0.5


@dataclass
class DlqInfo:
    name: str
    url: str
    source_url: str
    depth: int
    oldest_age_s: float | None
    # True when every message was read, so oldest_age_s is the oldest; False when it is only
    # the oldest of those read (a lower bound); None for an empty queue.
    oldest_exact: bool | None = None


def describe(sqs, dead_letter_queues: dict[str, str], scan_limit: int = AGE_SCAN_LIMIT) -> list[DlqInfo]:
    """dead_letter_queues maps each source queue URL to its DLQ URL."""
    out = []
    for source_url, dlq_url in sorted(dead_letter_queues.items()):
        attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        depth = int(attrs["ApproximateNumberOfMessages"])
        age, exact = oldest_age(sqs, dlq_url, depth, scan_limit) if depth else (None, None)
        out.append(DlqInfo(dlq_url.rsplit("/", 1)[1], dlq_url, source_url, depth, age, exact))
    return out


def oldest_age(sqs, dlq_url: str, depth: int, limit: int = AGE_SCAN_LIMIT) -> tuple[float | None, bool]:
    """Age of the oldest message (SentTimestamp: when it was first sent to its work queue) and
    whether it is exact: every message is read once, up to `limit` (`queues.read_each_once`).

    CloudWatch's ApproximateAgeOfOldestMessage is not used: it lags by minutes, counts from a
    message's move into the DLQ, and restarts for a message received three times, which the
    watchdog's reads do.
    """
    messages, drained = queues.read_each_once(sqs, dlq_url, limit, ["SentTimestamp"])
    if not messages:
        return None, False
    # Nothing left to read and at least the depth read: no older message can hide anywhere.
    exact = drained and len(messages) >= depth
    return round(time.time() - min(int(m["Attributes"]["SentTimestamp"]) for m in messages) / 1000, 1), exact


def peek(sqs, dlq_url: str, limit: int = 10) -> list[dict]:
    response = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=min(limit, 10), AttributeNames=["All"],
        MessageAttributeNames=["All"], VisibilityTimeout=0,
    )
    out = []
    for m in response.get("Messages", []):
        try:
            body = json.loads(m["Body"])
        except json.JSONDecodeError:
            body = m["Body"]
        entry = {"message_id": m["MessageId"], "receive_count": m["Attributes"].get("ApproximateReceiveCount"), "body": body}
        reason = m.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
        if reason:  # put there by the stage that refused the message (the ledger: an invalid event)
            entry["reason"] = reason
        out.append(entry)
    return out


def replay_local(sqs, dlq_url: str, source_url: str, max_messages: int = 100_000) -> int:
    moved = 0
    waiting_since: float | None = None
    while moved < max_messages:
        response = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0, VisibilityTimeout=30
        )
        messages = response.get("Messages", [])
        if not messages:
            # Not done while messages are hidden: a concurrent read holds them for a moment.
            waiting_since = time.monotonic() if waiting_since is None else waiting_since
            if not _hidden(sqs, dlq_url) or time.monotonic() - waiting_since >= HIDDEN_WAIT_S:
                break
            time.sleep(HIDDEN_POLL_S)
            continue
        waiting_since = None
        sent = sqs.send_message_batch(
            QueueUrl=source_url,
            Entries=[
                {"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
                for i, m in enumerate(messages)
            ],
        )
        # Only what reached the source queue leaves the DLQ; the rest stays for the next replay.
        ok = [messages[int(entry["Id"])] for entry in sent.get("Successful", [])]
        if ok:
            sqs.delete_message_batch(
                QueueUrl=dlq_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok)]
            )
        moved += len(ok)
        if len(ok) < len(messages):
            break
    return moved


def _hidden(sqs, dlq_url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def replay_aws(sqs, dlq_arn: str) -> str:
    """Ask SQS to move every message back to its source queue; returns the task handle."""
    return sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
