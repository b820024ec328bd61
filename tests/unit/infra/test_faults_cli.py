"""The fault suite's command refuses unknown scenarios before starting anything."""

from __future__ import annotations

from typer.testing import CliRunner

from infra.cli.main import app
from infra.faults import suite


def test_an_unknown_scenario_is_refused_with_the_known_ones():
    result = CliRunner().invoke(app, ["faults", "--only", "nope"])
    assert result.exit_code == 2
    assert "unknown scenario ['nope']" in result.output
    assert all(name in result.output for name in suite.SCENARIOS)


def test_the_mirror_lists_a_missing_pdf_in_its_index(tmp_path):
    import zipfile

    root = suite.build_mirror(tmp_path / "m", {"1": b"%PDF-1.4", "2": None})
    assert (root / "public_disc" / "ptr-pdfs" / "2025" / "1.pdf").exists()
    assert not (root / "public_disc" / "ptr-pdfs" / "2025" / "2.pdf").exists()
    with zipfile.ZipFile(root / "public_disc" / "financial-pdfs" / "2025FD.zip") as archive:
        xml = archive.read("2025FD.xml").decode()
    assert "<DocID>1</DocID>" in xml and "<DocID>2</DocID>" in xml


def test_the_poison_wait_covers_the_slowest_queues_redeliveries():
    import json
    from types import SimpleNamespace

    attributes = {"/q/s-runs": ("20", 3), "/q/s-ocr": ("30", 3), "/q/s-ledger": ("5", 3)}

    class Sqs:
        def get_queue_attributes(self, QueueUrl, AttributeNames):  # noqa: N803 - boto3's names
            visibility, receives = attributes[QueueUrl]
            return {"Attributes": {"VisibilityTimeout": visibility, "RedrivePolicy": json.dumps({"maxReceiveCount": receives})}}

    stack = SimpleNamespace(client=lambda name: Sqs(),
                            provisioned=SimpleNamespace(dead_letter_queues={url: f"{url}-dlq" for url in attributes}))
    assert suite.parking_time(stack) == 30 * 3 + suite.PARK_SLACK_S  # type: ignore[arg-type]
