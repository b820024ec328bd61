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
    assert docs["20000003"]["terminal"] == "failed" and docs["20000003"]["extract"] == "failed"
    assert docs["20027933"]["terminal"] == "extracted"
    # ...and the three unreadable indexes fail the run, each with a clear error.
    assert run["status"] == "failed"
    assert run["counts"]["index_failed"] == 3
    errors = " ".join(run["errors"])
    assert "discover 2024: bad_zip" in errors
    assert "discover 2023: malformed_xml" in errors
    assert "discover 2022: unsafe_xml" in errors
    assert all(i.depth == 0 for i in stack.dlq_info())
