"""What the queues really deliver (`disclosures events capture`) fits what each stage accepts."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from infra.cli.events_cmd import CAPTURED
from infra.local.capture import body_kind

# Each queue of the template and the function its event source mapping calls.
STAGE_OF_QUEUE = {
    "runs": "services.discover.handler",
    "fetch": "services.fetch.handler",
    "extract": "services.extract.handler",
    "ocr": "services.ocr.handler",
    "gold": "services.build_gold.handler",
    "publish": "services.publish_api.handler",
}
FILES = sorted(CAPTURED.glob("*.json"))


def _queue(path: Path) -> str:
    return path.name.split(".", 1)[0]


def test_every_queue_has_captured_events():
    assert {_queue(p) for p in FILES} == {*STAGE_OF_QUEUE, "ledger"}
    kinds = {p.name.removesuffix(".json") for p in FILES}
    assert {"runs.schedule", "runs.run.requested", "extract.s3", "extract.s3-test",
            "extract.document.extract_requested", "ocr.document.needs_ocr", "gold.run.documents_settled",
            "gold.gold.requested", "publish.gold.published", "fetch.filing.discovered"} <= kinds


@pytest.mark.parametrize("path", [p for p in FILES if _queue(p) in STAGE_OF_QUEUE], ids=lambda p: p.name)
def test_the_stage_of_the_queue_accepts_what_it_delivers(path):
    event = json.loads(path.read_text())
    stage = importlib.import_module(STAGE_OF_QUEUE[_queue(path)]).stage
    for record in event["Records"]:
        parsed = stage.model.model_validate(record)
        assert parsed.messageId == record["messageId"]
        kind = body_kind(record["body"])
        assert getattr(parsed.body, "event_type", kind) == kind


@pytest.mark.parametrize("path", [p for p in FILES if _queue(p) == "ledger"], ids=lambda p: p.name)
def test_the_ledger_reads_every_event_it_is_sent(path):
    from services.ledger.handler import parse

    for record in json.loads(path.read_text())["Records"]:
        event, reason = parse(record["body"])
        assert reason is None and event is not None
        assert event.event_type == path.name.removeprefix("ledger.").removesuffix(".json")
