"""Reading a queue without consuming it: bounded, each message once, all released, waits on AWS only."""

from __future__ import annotations

from types import SimpleNamespace

from services.common import queues


class EndlessQueue:
    """A DLQ on AWS that always has another message to hand out."""

    meta = SimpleNamespace(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    def __init__(self) -> None:
        self.receives: list[dict] = []
        self.released: list[str] = []

    def receive_message(self, **kwargs):
        self.receives.append(kwargs)
        n = len(self.receives)
        return {"Messages": [{"MessageId": f"{n}-{i}", "ReceiptHandle": f"h{n}-{i}", "Body": "{}"}
                             for i in range(kwargs["MaxNumberOfMessages"])]}

    def change_message_visibility_batch(self, **kwargs):
        assert {e["VisibilityTimeout"] for e in kwargs["Entries"]} == {0}
        self.released += [e["ReceiptHandle"] for e in kwargs["Entries"]]
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]]}


def test_reading_a_dead_letter_queue_is_bounded_and_releases_what_it_read():
    queue = EndlessQueue()
    messages, drained = queues.read_each_once(queue, "https://q/123/t-dlq", limit=25)
    assert (len(messages), drained, len(queue.receives)) == (25, False, 3)
    # Each page hidden for the pass, so the next receive hands out others; all visible again after.
    assert {(r["VisibilityTimeout"], r["WaitTimeSeconds"]) for r in queue.receives} == {(queues.SCAN_VISIBILITY_S, 1)}
    assert sorted(queue.released) == sorted(m["ReceiptHandle"] for m in messages)


