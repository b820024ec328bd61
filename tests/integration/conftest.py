"""Handlers against the emulator, without pollers: events in from shared JSON fixtures,
what they published read back from a queue subscribed to the whole topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.pollers import LocalContext
from infra.local.runtime import LocalRuntime, RuntimeOptions

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def lambda_event(name: str, **replace: str) -> dict:
    text = (EVENTS / f"{name}.json").read_text()
    for marker, value in replace.items():
        text = text.replace(f"__{marker}__", value)
    return json.loads(text)


def envelope_event(envelope) -> dict:
    return lambda_event("sqs_envelope", ENVELOPE=json.dumps(envelope.model_dump_json())[1:-1],
                        EVENT_TYPE=envelope.event_type)


class Harness:
    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.env = runtime.provisioned.environment
        sqs, sns = runtime.client("sqs"), runtime.client("sns")
        self.capture = sqs.create_queue(QueueName="capture")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.capture, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.env["EVENTS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true"})

    def published(self) -> list[dict]:
        sqs = self.runtime.client("sqs")
        out = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.capture, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.capture, ReceiptHandle=m["ReceiptHandle"])

    @staticmethod
    def invoke(handler_path: str, event: dict) -> dict:
        from infra.local.pollers import load_handler

        return load_handler(handler_path)(event, LocalContext("test"))


@pytest.fixture
def harness(emulator, mirror_dir):
    emulator.reset()
    runtime = LocalRuntime(RuntimeOptions(source=str(mirror_dir), endpoint=emulator.endpoint)).start(pollers=False)
    yield Harness(runtime)
    runtime.stop()
