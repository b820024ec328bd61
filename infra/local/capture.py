"""Keep the first SQS event of each kind every queue delivers, as the handler received it.

`tests/fixtures/events/captured/` is written this way (`disclosures events capture`): the
handler tests and the stage models are checked against what the queues really deliver, not
against events written by hand. One file per queue and body kind (`fetch.filing.discovered`,
`extract.s3`, `runs.schedule`, ...), holding a one-record SQS event.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


def body_kind(body: str) -> str:
    """What a message body is: its event type, or the AWS notification it is."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "unparseable"
    if not isinstance(parsed, dict):
        return "other"
    if "event_type" in parsed:
        return str(parsed["event_type"])
    if "Records" in parsed:
        return "s3"
    if parsed.get("Event") == "s3:TestEvent":
        return "s3-test"
    if "trigger" in parsed:
        return str(parsed["trigger"])
    return "other"


class EventCapture:
    def __init__(self, folder: Path, stack_name: str) -> None:
        self.folder, self.prefix = folder, f"{stack_name}-"
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def record(self, queue_url: str, event: dict[str, Any]) -> None:
        queue = queue_url.rsplit("/", 1)[1].removeprefix(self.prefix)
        for record in event["Records"]:
            path = self.folder / f"{queue}.{body_kind(record['body'])}.json"
            with self._lock:
                if path.exists():
                    continue
                path.write_text(json.dumps({"Records": [record]}, indent=2, sort_keys=True) + "\n")

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.json"))
