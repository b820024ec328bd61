"""Bad input gets a clear, recorded, terminal failure, and nothing else breaks."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from tests.e2e.helpers import member_xml

pytestmark = pytest.mark.e2e

ENTITY_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<FinancialDisclosure><Member><Last>&lol3;</Last><DocID>1</DocID></Member></FinancialDisclosure>"""


def _zip(year: int, xml: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{year}FD.xml", xml)
    return buffer.getvalue()


@pytest.fixture
def hostile_mirror(tmp_path, mirror_dir):
    root = tmp_path / "hostile"
    fin = root / "public_disc" / "financial-pdfs"
    ptr = root / "public_disc" / "ptr-pdfs" / "2025"
    ptr.mkdir(parents=True)
    (fin / "2025").mkdir(parents=True)
    shutil.copy(mirror_dir / "public_disc" / "ptr-pdfs" / "2025" / "20027933.pdf", ptr / "20027933.pdf")
    (ptr / "20000001.pdf").write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    (ptr / "20000002.pdf").write_bytes(b"")
    (ptr / "20000003.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")  # truncated PDF
    members = "".join(member_xml(d, "P") for d in ("20027933", "20000001", "20000002", "20000003"))
    (fin / "2025FD.zip").write_bytes(_zip(2025, f"<FinancialDisclosure>{members}</FinancialDisclosure>"))
    good_2024 = _zip(2024, "<FinancialDisclosure></FinancialDisclosure>")
    (fin / "2024FD.zip").write_bytes(good_2024[: len(good_2024) // 2])  # truncated download
    (fin / "2023FD.zip").write_bytes(_zip(2023, "<FinancialDisclosure><Member><DocID>1</Member>"))
    (fin / "2022FD.zip").write_bytes(_zip(2022, ENTITY_BOMB))
    return root


def test_bad_documents_and_indexes_are_recorded_failures(make_stack, hostile_mirror):
    stack = make_stack(hostile_mirror)
    run = stack.wait_for_run(stack.request_run([2022, 2023, 2024, 2025]), timeout_s=120)

    # The good filing went all the way through...
    assert run["counts"]["extract_extracted"] == 1
    assert run["docs_settled"] == run["docs_expected"] == 4
    # ...each bad one is a terminal failure with its reason...
    docs = {d["doc_id"]: d for d in stack.run_item(run["run_id"])["documents"]}
    assert docs["20000001"]["reason"] == "not_pdf" and "HTML" in docs["20000001"]["message"]
    assert docs["20000002"]["reason"] == "empty"
    assert docs["20000003"]["terminal"] == docs["20000003"]["extract"] == "extract_failed"
    assert docs["20000001"]["terminal"] == docs["20000001"]["fetch"] == "fetch_failed"
    assert docs["20027933"]["terminal"] == "extracted"
    # ...and the three unreadable indexes fail the run, each with a clear error.
    assert run["status"] == "failed"
    assert run["counts"]["index_failed"] == 3
    errors = " ".join(run["errors"])
    assert "discover 2024: bad_zip" in errors
    assert "discover 2023: malformed_xml" in errors
    assert "discover 2022: unsafe_xml" in errors
    assert all(i.depth == 0 for i in stack.dlq_info())


def _make_retries_due(stack, doc_ids: list[str], year: int = 2025) -> None:
    """A day passes for these filings: their next attempt moves into the past."""
    table = stack.provisioned.environment["WATERMARKS_TABLE"]
    for doc_id in doc_ids:
        stack.client("dynamodb").update_item(
            TableName=table, Key={"pk": {"S": f"house-fd#{year}"}, "sk": {"S": f"DOC#{doc_id}"}},
            UpdateExpression="SET next_attempt_at = :past", ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00+00:00"}},
        )


def test_a_bad_document_the_clerk_fixes_is_tried_again_on_schedule(make_stack, tmp_path, mirror_dir):
    root = tmp_path / "fixable"
    fin, ptr = root / "public_disc" / "financial-pdfs", root / "public_disc" / "ptr-pdfs" / "2025"
    ptr.mkdir(parents=True)
    fin.mkdir(parents=True)
    good = mirror_dir / "public_disc" / "ptr-pdfs" / "2025"
    shutil.copy(good / "20027933.pdf", ptr / "20027933.pdf")
    (ptr / "20000001.pdf").write_text("<!DOCTYPE html><html><body>Not Found</body></html>")  # fetch: not_pdf
    truncated = (good / "20026590.pdf").read_bytes()
    (ptr / "20000003.pdf").write_bytes(truncated[: len(truncated) // 2])  # passes fetch, extract: truncated
    members = "".join(member_xml(d, "P") for d in ("20027933", "20000001", "20000003"))
    (fin / "2025FD.zip").write_bytes(_zip(2025, f"<FinancialDisclosure>{members}</FinancialDisclosure>"))
    stack = make_stack(root)

    first = stack.wait_for_run(stack.request_run([2025]), timeout_s=120)
    docs = {d["doc_id"]: d for d in stack.run_item(first["run_id"])["documents"]}
    assert (docs["20000001"]["reason"], docs["20000003"]["reason"]) == ("not_pdf", "truncated")

    # The Clerk fixes both files. The same day nothing is asked again (the index did not change).
    shutil.copy(good / "20026590.pdf", ptr / "20000001.pdf")
    shutil.copy(good / "20026658.pdf", ptr / "20000003.pdf")
    same_day = stack.wait_for_run(stack.request_run([2025]), timeout_s=60)
    assert same_day["docs_expected"] == 0

    # A day later both are due: asked for again, stored and extracted.
    _make_retries_due(stack, ["20000001", "20000003"])
    retry = stack.wait_for_run(stack.request_run([2025]), timeout_s=120)
    assert retry["status"] == "succeeded" and retry["docs_expected"] == 2
    retried = {d["doc_id"]: d for d in stack.run_item(retry["run_id"])["documents"]}
    assert {d: retried[d]["terminal"] for d in retried} == {"20000001": "extracted", "20000003": "extracted"}
    # The ledger keeps both attempts: the first run still shows the failures.
    docs = {d["doc_id"]: d for d in stack.run_item(first["run_id"])["documents"]}
    assert (docs["20000001"]["terminal"], docs["20000003"]["terminal"]) == ("fetch_failed", "extract_failed")
    marks = stack.client("dynamodb").get_item(TableName=stack.provisioned.environment["WATERMARKS_TABLE"],
                                              Key={"pk": {"S": "house-fd#2025"}, "sk": {"S": "DOC#20000003"}})["Item"]
    assert (marks["status"]["S"], marks["attempts"]["N"]) == ("extracted", "2")
