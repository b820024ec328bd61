"""Dead-letter queues: inspect them and replay their messages to the queue they came from.

On AWS a replay is `StartMessageMoveTask` (SQS moves the messages itself); locally, where the
emulator lacks it, the same effect by a receive / send / delete loop. Handlers are idempotent,
so a replayed message that had in fact been processed changes nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass


@dataclass
class DlqInfo:
    name: str
    url: str
    source_url: str
    depth: int
    oldest_age_s: float | None


def describe(sqs, dead_letter_queues: dict[str, str]) -> list[DlqInfo]:
    """dead_letter_queues maps each source queue URL to its DLQ URL."""
    out = []
    for source_url, dlq_url in sorted(dead_letter_queues.items()):
        attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        depth = int(attrs["ApproximateNumberOfMessages"])
        out.append(DlqInfo(dlq_url.rsplit("/", 1)[1], dlq_url, source_url, depth, _oldest_age(sqs, dlq_url) if depth else None))
    return out


def _oldest_age(sqs, dlq_url: str) -> float | None:
    """Peek without consuming: receive, read SentTimestamp, make visible again at once."""
    response = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"], VisibilityTimeout=0)
    messages = response.get("Messages", [])
    if not messages:
        return None
    oldest = min(int(m["Attributes"]["SentTimestamp"]) for m in messages)
    return round(time.time() - oldest / 1000, 1)


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
        out.append({"message_id": m["MessageId"], "receive_count": m["Attributes"].get("ApproximateReceiveCount"), "body": body})
    return out


def replay_local(sqs, dlq_url: str, source_url: str, max_messages: int = 100_000) -> int:
    moved = 0
    while moved < max_messages:
        response = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0, VisibilityTimeout=30
        )
        messages = response.get("Messages", [])
        if not messages:
            break
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


def replay_aws(sqs, dlq_arn: str) -> str:
    """Ask SQS to move every message back to its source queue; returns the task handle."""
    return sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
