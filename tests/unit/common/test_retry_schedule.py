"""Failed source documents are asked for again on a back-off schedule, claimed by one run at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common import watermarks
from services.common.states import DocumentState
from services.common.tables import FilingMark, WatermarksTable


@pytest.fixture
def marks(ledger_table):
    WatermarksTable.create_table(wait=True)


def claim(year: int, doc_id: str, fingerprint: str, run_id: str, attempt: int = 1) -> bool:
    [claimed] = watermarks.claim_filings([watermarks.Claim(year, doc_id, fingerprint, run_id, attempt=attempt)])
    return claimed


def _fail(state: DocumentState = DocumentState.FETCH_FAILED) -> FilingMark:
    assert watermarks.move(2025, "1", state, reason="not_pdf")
    return watermarks.filing(2025, "1")


def _make_due(mark: FilingMark) -> None:
    mark.update(actions=[FilingMark.next_attempt_at.set((datetime.now(UTC) - timedelta(seconds=1)).isoformat())])


def test_the_delay_doubles_from_a_day_up_to_a_cap():
    assert [watermarks.retry_delay(n).days for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 32, 32]
    assert watermarks.retry_delay(10_000) == watermarks.RETRY_CAP


def test_a_failed_filing_is_claimed_again_only_when_due_and_only_once(marks):
    assert claim(2025, "1", "fp", "run-1")
    mark = _fail()
    assert (mark.attempts, watermarks.retry_due(mark)) == (1, False)
    # Not due yet: a second run neither selects nor claims it.
    assert watermarks.next_attempt(mark, "fp", "run-2") == 2
    assert not claim(2025, "1", "fp", "run-2", attempt=2)
    # A day on, it is due: one run claims the retry, a racing one loses.
    assert watermarks.retry_due(mark, datetime.now(UTC) + timedelta(days=1, seconds=1))
    _make_due(mark)
    assert watermarks.retry_due(watermarks.filing(2025, "1"))
    assert claim(2025, "1", "fp", "run-2", attempt=2)
    assert not claim(2025, "1", "fp", "run-3", attempt=3)
    # The claim scheduled the attempt after it: two days, whatever the outcome.
    mark = watermarks.filing(2025, "1")
    scheduled = datetime.fromisoformat(mark.next_attempt_at) - datetime.fromisoformat(mark.updated_at)
    assert (mark.attempts, scheduled) == (2, timedelta(days=2))
    # A redelivery to run-2 claims again as the same attempt.
    assert watermarks.next_attempt(mark, "fp", "run-2") == 2
    assert claim(2025, "1", "fp", "run-2", attempt=2)


def test_extract_failures_are_retried_too_and_a_changed_filing_starts_again(marks):
    assert claim(2025, "1", "fp", "run-1")
    mark = _fail(DocumentState.EXTRACT_FAILED)
    _make_due(mark)
    assert watermarks.retry_due(watermarks.filing(2025, "1"))
    assert watermarks.next_attempt(watermarks.filing(2025, "1"), "fp2", "run-2") == 1


def test_a_document_that_succeeded_is_never_due(marks):
    assert claim(2025, "1", "fp", "run-1")
    assert watermarks.move(2025, "1", DocumentState.EXTRACTED)
    mark = watermarks.filing(2025, "1")
    assert not watermarks.retry_due(mark, datetime.now(UTC) + timedelta(days=365))
    _make_due(mark)
    assert not claim(2025, "1", "fp", "run-2", attempt=2)


def test_a_failure_recorded_before_the_schedule_is_due_a_day_later(marks):
    FilingMark(*FilingMark.KIND.key(year=2025, doc_id="1"), fingerprint="fp", run_id="run-0", status="failed",
                  updated_at=(datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")).save()
    mark = watermarks.filing(2025, "1")
    assert watermarks.retry_due(mark) and watermarks.next_attempt(mark, "fp", "run-1") == 1
    assert claim(2025, "1", "fp", "run-1")


def test_a_years_claims_go_a_hundred_to_a_request_and_only_refused_ones_are_left_out(marks, ledger_table):
    claims = [watermarks.Claim(2025, f"{n:04}", "fp", "run-1") for n in range(250)]
    ledger_table.clear()
    assert watermarks.claim_filings(claims) == [True] * 250
    assert ledger_table == ["TransactWriteItems"] * 3

    # Another run finds three of them claimed (same version) and one changed: it claims the changed
    # one and the filings nobody had, in one more round for the refused.
    ledger_table.clear()
    again = [watermarks.Claim(2025, doc, fp, "run-2") for doc, fp in
             (("0001", "fp"), ("0002", "fp"), ("0003", "new"), ("0004", "fp"), ("9999", "fp"))]
    assert watermarks.claim_filings(again) == [False, False, True, False, True]
    assert ledger_table[-1] == "TransactWriteItems" and len(ledger_table) <= 4
    assert watermarks.filing(2025, "0003").run_id == "run-2" and watermarks.filing(2025, "0002").run_id == "run-1"
    assert watermarks.filing(2025, "9999").run_id == "run-2"
