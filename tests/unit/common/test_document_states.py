"""One document state: its moves, the old spellings it reads, and the watermark enforcing it."""

from __future__ import annotations

from typing import get_args

import pytest

from events.models import DocumentFailed
from services.common import states, watermarks
from services.common.documents import SilverDocument
from services.common.states import DocumentState as S
from services.common.tables import FilingMark, WatermarksTable


def test_every_state_is_reached_and_each_stage_ends_in_its_own():
    reached = set().union(*states.TRANSITIONS.values())
    assert reached == set(S) and set(states.TRANSITIONS) == {None, *S}
    assert set().union(*states.STAGE_STATES.values()) == set(S)
    assert set(get_args(DocumentFailed.model_fields["stage"].annotation)) == set(states.STAGE_STATES)
    assert all(S(f"{stage}_failed") in ends for stage, ends in states.STAGE_STATES.items())


@pytest.mark.parametrize(("source", "target", "allowed"), [
    (None, S.STORED, True),
    (S.OCR_EXTRACTED, S.STORED, True),               # a new version of any document
    (S.EXTRACTED, S.FETCH_FAILED, True),             # ... or its fetch failing
    (S.FETCH_FAILED, S.EXTRACTED, False),            # no bytes of that version to read
    (S.EXTRACTED, S.EXTRACTED, True),                # a new parser version reads again
    (S.STORED, S.OCR_EXTRACTED, False),              # OCR reads only what extract found scanned
    (S.EXTRACTED, S.OCR_FAILED, False),
    (S.NEEDS_OCR, S.OCR_FAILED, True),
    (S.OCR_FAILED, S.OCR_EXTRACTED, True),           # a new OCR version reads again
    (S.OCR_EXTRACTED, S.NEEDS_OCR, True),            # a new parser version, then OCR again
])
def test_the_moves(source, target, allowed):
    assert (target in states.TRANSITIONS[source]) is allowed
    assert (source in states.sources(target)) is (allowed and source is not None)


def test_old_spellings_read_as_what_they_meant():
    assert states.read_mark("failed") is S.FETCH_FAILED and states.read_mark("extract_failed") is S.EXTRACT_FAILED
    assert states.read_mark(None) is None
    with pytest.raises(ValueError):
        states.read_mark("done")
    assert states.stored_spellings(frozenset({S.FETCH_FAILED})) == ["failed", "fetch_failed"]
    assert states.read_silver("failed", ocr=False) is S.EXTRACT_FAILED
    assert states.read_silver("failed", ocr=True) is S.OCR_FAILED
    assert states.read_silver("extracted", ocr=True) is S.OCR_EXTRACTED
    assert states.read_silver("ocr_failed", ocr=True) is S.OCR_FAILED


def test_a_silver_record_written_before_the_vocabulary_reads_as_its_state():
    base = {"doc_id": "8220796", "rendering": "scanned"}
    old_scan = SilverDocument.model_validate({**base, "extraction_status": "failed", "ocr": {"rows": 0}})
    old_broken = SilverDocument.model_validate({**base, "extraction_status": "failed"})
    old_read = SilverDocument.model_validate({**base, "extraction_status": "extracted", "ocr": {"rows": 3}})
    assert (old_scan.extraction_status, old_broken.extraction_status, old_read.extraction_status) == (
        S.OCR_FAILED, S.EXTRACT_FAILED, S.OCR_EXTRACTED)
    # Gold and the API keep their public vocabulary.
    assert (old_scan.public_status, old_read.public_status) == ("failed", "extracted")
    assert [states.public_status(s) for s in (S.NEEDS_OCR, S.STORED, None)] == ["needs_ocr", "missing", "missing"]


@pytest.fixture
def marks(ledger_table):
    WatermarksTable.create_table(wait=True)


def test_the_watermark_moves_only_as_allowed(marks):
    assert watermarks.move(2025, "1", S.STORED, sha256="a" * 64)
    assert watermarks.move(2025, "1", S.NEEDS_OCR, parser_version="1")
    assert watermarks.move(2025, "1", S.OCR_EXTRACTED, ocr_sha256="a" * 64)
    # Newer bytes fail to fetch: an extraction of the older ones arriving late does not hide that.
    assert watermarks.move(2025, "1", S.FETCH_FAILED, reason="not_pdf")
    assert not watermarks.move(2025, "1", S.EXTRACTED, parser_version="2")
    assert not watermarks.move(2025, "1", S.OCR_FAILED)
    mark = watermarks.filing(2025, "1")
    assert (mark.status, mark.reason, mark.parser_version) == (S.FETCH_FAILED, "not_pdf", "1")


def test_an_old_failed_mark_moves_on_as_a_fetch_failure(marks):
    FilingMark(*FilingMark.KIND.key(year=2025, doc_id="2"), status="failed").save()
    assert watermarks.filing(2025, "2").status is S.FETCH_FAILED
    assert not watermarks.move(2025, "2", S.EXTRACTED)
    assert watermarks.move(2025, "2", S.STORED) and watermarks.filing(2025, "2").status is S.STORED


def test_only_new_bytes_move_a_filing_back_to_stored(marks):
    """Fetch moves the filing before the object lands (its S3 event starts extract): a
    redelivery, or the same file fetched again, must not undo what extract found."""
    assert watermarks.move(2025, "3", S.STORED, only_new_bytes=True, sha256="a")
    assert watermarks.move(2025, "3", S.NEEDS_OCR, sha256="a")
    assert not watermarks.move(2025, "3", S.STORED, only_new_bytes=True, sha256="a")
    assert watermarks.filing(2025, "3").status is S.NEEDS_OCR
    assert watermarks.move(2025, "3", S.STORED, only_new_bytes=True, sha256="b")
    assert (watermarks.filing(2025, "3").status, watermarks.filing(2025, "3").sha256) == (S.STORED, "b")
