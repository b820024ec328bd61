"""What waits in the dead-letter queues, and which run each message belongs to (for the watchdog).

The queues are read without consuming them (`services.common.queues.read_each_once`, as
`disclosures dlq list` reads them). A receive raises the message's receive count, which matters
nowhere: the DLQs have no redrive policy of their own. At most `limit` messages are read per
queue and tick.

A body is our event envelope (SNS delivers raw to every queue; an SNS notification wrapper is
unwrapped all the same), or, on the extract queue, a bronze `ObjectCreated` event whose object
carries the run id in its metadata (written by fetch). Anything else is unattributable.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from services.common import keys, storage
from services.common.config import FunctionSettings, settings
from services.common.documents import PdfMetadata
from services.common.queues import read_each_once


class DeadLetterSettings(FunctionSettings):
    """Which DLQs a function watches (the watchdog, the API's operations page)."""

    dead_letter_queues: str = Field("", description="DLQ URLs, comma-separated")

    @property
    def queue_urls(self) -> tuple[str, ...]:
        return tuple(u.strip() for u in self.dead_letter_queues.split(",") if u.strip())


@dataclass
class QueueLetters:
    name: str
    by_run: Counter[str] = field(default_factory=Counter)  # run id -> messages read
    unattributed: int = 0  # messages read that name no run


def run_of(body: str) -> str | None:
    """The run a dead letter belongs to, or None when it names none."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("Type") == "Notification":
            data = json.loads(data["Message"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    run_id = data.get("run_id")
    if isinstance(run_id, str) and run_id:
        return run_id
    return _run_of_bronze_event(data)


def _run_of_bronze_event(data: dict[str, Any]) -> str | None:
    bucket = settings().bronze_bucket
    for record in data.get("Records") or []:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict) or s3.get("bucket", {}).get("name") != bucket:
            continue
        key = urllib.parse.unquote_plus(str(s3.get("object", {}).get("key", "")))
        if keys.parse_pdf_key(key) is None:
            continue
        try:
            head = storage.head(bucket, key)
        except ClientError:
            return None
        run_id = PdfMetadata.from_s3((head or {}).get("Metadata", {})).run_id
        if run_id:
            return run_id
    return None


def read(sqs: Any, urls: list[str], limit: int) -> list[QueueLetters]:
    """Read up to `limit` messages of each DLQ and attribute them to their runs."""
    out = []
    for url in sorted(urls):
        letters = QueueLetters(url.rsplit("/", 1)[1])
        messages, _ = read_each_once(sqs, url, limit)
        for message in messages:  # after the release: a bronze event's run costs an S3 read
            run_id = run_of(message["Body"])
            if run_id:
                letters.by_run[run_id] += 1
            else:
                letters.unattributed += 1
        out.append(letters)
    return out
